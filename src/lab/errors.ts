// The lab's error codes: making, using and removing test hosts on this machine.
import { defineErrors } from '../core/errors.ts'

export const labError = defineErrors('lab', {
  LAB_TOOL_MISSING: { hint: 'Install the Debian packages the lab needs: apt-get install iproute2 openssh-server openssh-client procps util-linux passwd.' },
  LAB_NO_FREE_SLOT: { hint: 'Every lab number (1-254) is taken; run `npm run lab -- down` to remove stale labs, or destroy labs you no longer need.' },
  LAB_COMMAND_FAILED: { hint: 'A system command the lab ran failed; read its stderr in the message. The lab was torn down; fix the cause and retry.' },
  LAB_SSHD_FAILED: { hint: 'The host\'s sshd did not start listening in time; read the sshd log named in the message (a taken port or a bad config are the usual causes).' },
  LAB_UNKNOWN_HOST: { hint: 'Use a host name of this lab (h1, h2, …); `npm run lab -- status` lists them.' },
  LAB_UNSUPPORTED: { hint: 'This needs the netns mode of the lab, which needs root; run the tests as root (CI does), or skip this step in loopback mode.' },
  LAB_DESTROYED: { hint: 'The lab was already destroyed; create a new one with createLab() or `npm run lab -- up N`.' },
  LAB_ALREADY_UP: { hint: 'A lab made by `npm run lab -- up` is still up; run `npm run lab -- down` first.' },
  LAB_NOT_UP: { hint: 'No lab is up; start one with `npm run lab -- up N`.' },
  LAB_BAD_OPTION: { hint: 'Ask for 1 to 250 hosts, and a mode of "netns" (root only) or "loopback".' }
})
