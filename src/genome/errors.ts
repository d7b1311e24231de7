// The genome module's error codes and their hints (docs/errors-genome.md lists the same codes).
import { defineErrors } from '../core/errors.ts'

export const genomeError = defineErrors('genome', {
  GENOME_INVALID: { hint: 'Fix each listed problem in organism.yaml (file:line:column) and run `cell genome check` again.' },
  GENOME_YAML: { hint: 'organism.yaml is not valid YAML: fix the syntax at the given line and column.' },
  GENOME_NOT_FOUND: { hint: 'Put an organism.yaml at the genome root, or create a new genome with `cell init DIR`.' },
  GENOME_NOT_A_REPO: { hint: 'Point at the git repository of the genome (a directory containing .git, or a bare repo).' },
  GENOME_REF_UNKNOWN: { hint: 'Use a branch, tag or commit id that exists in the genome repository (git log shows them).' },
  GENOME_NO_SIGNERS: { hint: 'Commit an allowed_signers file at the genome root listing the SSH keys that may sign it (cell init makes one).' },
  GENOME_UNSIGNED: { hint: 'Sign the commit with a key listed in allowed_signers: git commit --amend -S (with gpg.format=ssh and user.signingkey set).' },
  GENOME_SIGNATURE_BAD: { hint: 'The commit does not match its signature (altered or forged): do not deploy it; fetch the genome again from a trusted source.' },
  GENOME_SIGNER_UNKNOWN: { hint: 'Sign with a key listed in allowed_signers, or have an allowed signer add your key in a commit they sign.' },
  GENOME_SIGNERS_CHANGE_UNAUTHORIZED: { hint: 'A change to allowed_signers must be signed by a key the previous allowed_signers already trusts; redo it signed by such a key.' },
  GENOME_SHALLOW: { hint: 'Fetch the whole history into the genome repo (git fetch --unshallow): a cell checks every change to allowed_signers back to the first commit.' },
  GENOME_OBJECTS_BAD: { hint: 'The genome repo holds objects that are not what their names say, or a tree git refuses (duplicate or ".." entries): it was tampered with or is corrupt; fetch the genome again from a trusted source and run `git fsck` there.' },
  GENOME_TREE_UNSAFE: { hint: 'The commit\'s tree would write outside the genome\'s folder (a path through a symlink, a name twice, "..", ".git"): do not deploy it; fix the tree and sign a new commit.' },
  GENOME_COMMIT_BAD: { hint: 'An update to this commit was reverted here because its health gate failed (see the cell\'s events). Fix the problem in a new commit and offer that one (`cell update`).' },
  GENOME_NOT_DESCENDANT: { hint: 'Run a commit that descends from the one this cell runs (undo a change with a new signed commit, not by rewinding the branch). If the history was rewritten on purpose, the operator of each cell removes the pin file named in the message to trust the new history.' },
  GENOME_PIN_INVALID: { hint: 'The cell\'s genome pin was damaged: restore it from a backup, or remove it to trust the commit the cell is started with (as on its first start).' },
  GENOME_INIT_NOT_EMPTY: { hint: 'Run `cell init` on a new or empty directory.' },
  GENOME_OVERRIDE_UNSIGNED: { hint: 'A move or takeover that crosses to another cell must be signed by an operator key listed in the genome\'s allowed_signers: run `cell move` with --key PATH (default ~/.organism/signing_key), an unencrypted SSH key.' },
  GENOME_OVERRIDE_REFUSED: { hint: 'The cell asked to act checked the override and refused it (see why): sign it with a key in the genome\'s allowed_signers, for exactly this function and cell, now, and only once.' },
  GENOME_KEY_INVALID: { hint: 'The signing key file is not a usable unencrypted SSH private key: pass another --key path or remove the file so a new key is made.' },
  GENOME_TOOL_MISSING: { hint: 'Install git and OpenSSH (ssh-keygen), e.g. apt-get install git openssh-client.' },
  GENOME_GIT_FAILED: { hint: 'A git command failed unexpectedly; run it by hand in the genome repository to see why (the message shows the command and its output).' }
})
