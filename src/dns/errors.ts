// The dns module's error codes: listening, reading a TSIG key, and pushing records to another server (RFC 2136 + TSIG).
import { defineErrors } from '../core/errors.ts'

export type DnsErrorCode = 'DNS_LISTEN_FAILED' | 'DNS_UPDATE_REJECTED' | 'DNS_TSIG_REJECTED' | 'DNS_TSIG_RESPONSE_INVALID' |
  'DNS_UPDATE_UNREACHABLE' | 'DNS_UPDATE_TIMEOUT' | 'DNS_UPDATE_BAD_RESPONSE' | 'DNS_INVALID_KEY' | 'DNS_KEY_FILE_INVALID' | 'DNS_INVALID_RECORD'

export const dnsError = defineErrors<DnsErrorCode>('dns', {
  DNS_LISTEN_FAILED: { hint: 'Another process holds the DNS port (UDP or TCP), or the cell may not bind it (ports below 1024 need root or net.ipv4.ip_unprivileged_port_start); free the port or choose another one in organism.yaml.' },
  DNS_UPDATE_REJECTED: { hint: 'The primary refused the update: check that it is the primary for the zone and that its allow-update / update-policy grants this TSIG key the names (e.g. `update-policy { grant KEY zonesub ANY; };`).' },
  DNS_TSIG_REJECTED: { hint: 'The primary did not accept the TSIG signature: check that the key name, algorithm and base64 secret match its `key` clause exactly, and that both clocks agree within 5 minutes (BADTIME).' },
  DNS_TSIG_RESPONSE_INVALID: { hint: 'The answer to a signed update was unsigned or its MAC did not verify, so its outcome cannot be trusted; check that the address is the primary itself (not a forwarder or middlebox) and that the key secret is right.' },
  DNS_UPDATE_UNREACHABLE: { hint: 'Nothing accepted a TCP connection at the primary\'s address and port; check the address, the port and that the server listens on TCP.' },
  DNS_UPDATE_TIMEOUT: { hint: 'The primary did not answer the update in time; check that it is up and reachable, or raise timeoutMs.' },
  DNS_UPDATE_BAD_RESPONSE: { hint: 'The primary\'s reply was not a DNS answer to our update (wrong id, opcode or malformed); check that the address and port are a DNS server.' },
  DNS_INVALID_KEY: { hint: 'Give the TSIG key as { name, algorithm: "hmac-sha256", secret } with the secret in base64, as in the server\'s `key` clause (tsig-keygen prints one).' },
  DNS_KEY_FILE_INVALID: { hint: 'Pass --dns-key a readable file holding the key clause that `tsig-keygen NAME` prints (key "NAME" { algorithm hmac-sha256; secret "…"; };) or JSON {"name","algorithm","secret"}.' },
  DNS_INVALID_RECORD: { hint: 'Every pushed record must be an A, AAAA, SRV or TXT record whose name lies inside the zone; fix the record or the zone.' }
})
