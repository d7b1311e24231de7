// The peers module's error codes (identity, admission, tokens, membrane, requests).
import { defineErrors } from '../core/errors.ts'

export const peersError = defineErrors('peers', {
  PEERS_KEY_FILE_INSECURE: { hint: 'the peer key file must be readable by its owner only: run `chmod 600` on it' },
  PEERS_KEY_FILE_INVALID: { hint: 'the peer key file is not an ed25519 libp2p key; move it away to let the cell create a new identity (it must then be admitted again)' },
  PEERS_TOKEN_INVALID: { hint: 'the join token is malformed or unknown to that member; ask a member for a new one with `cell admit`' },
  PEERS_TOKEN_USED: { hint: 'join tokens work once; ask a member for a new one with `cell admit`' },
  PEERS_TOKEN_EXPIRED: { hint: 'the join token passed its expiry; ask a member for a new one with `cell admit` (and use it sooner, or pass a longer ttl)' },
  PEERS_ADMISSION_INVALID: { hint: 'an admission record failed verification (signature, admitter or organism); the record was ignored — check that both cells belong to the same organism' },
  PEERS_NOT_MEMBER: { hint: 'only admitted cells may use the organism\'s protocols and topics; join first with `cell start --join <address> --token <t>`' },
  PEERS_JOIN_FAILED: { hint: 'the join handshake did not complete; check the address in the token is reachable and the member is running, then retry with a new token' },
  PEERS_MESSAGE_TOO_LARGE: { hint: 'peer messages are limited in size (maxMessageBytes, 1 MiB by default); split the payload or stream it in parts' },
  PEERS_REQUEST_FAILED: { hint: 'the peer did not answer the request with a valid response; check that it is a member, runs the same protocol and is alive' },
  PEERS_PROTOCOL_INVALID: { hint: 'organism protocols are named /organism/<name>/<what>/<version>; topics are short names without slashes' },
  PEERS_PROTOCOL_UNSUPPORTED: { hint: 'the member does not serve that protocol (an older cell): use the older protocol with it, or upgrade it' },
  PEERS_PORT_IN_USE: { hint: 'another process (or another cell) listens on the peer port: stop it, or give this cell another with peers.port in organism.yaml or --peer-port' },
  PEERS_EXPELLED: { hint: 'an operator expelled this cell from the organism (`cell expel`, signed with a genome key): it can neither join again nor be renewed; give the host a new identity (move peer.key away) and admit it with a new token if it is trusted again' },
  PEERS_EXPULSION_INVALID: { hint: 'an expulsion must be signed with a key in the genome\'s allowed_signers (namespace organism-override) for this organism, and the founding cell\'s expulsion must name a successor: sign it again with `cell expel CELL --key KEY [--successor CELL]`' },
  PEERS_NOT_STARTED: { hint: 'the peer node is stopped; create a new one with createPeerNode()' }
})
