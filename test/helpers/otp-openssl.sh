#!/usr/bin/env bash
# An independent implementation of docs/otp-format.md with the openssl command line only, used by the
# tests to check the TypeScript codec against something that shares none of its code.
#   otp-openssl.sh kid     CERT.pem                       -> KID, URL-safe base64, padded
#   otp-openssl.sh key     CERT.pem KEY.pem               -> the derived AES key, hex
#   otp-openssl.sh decrypt CERT.pem KEY.pem KID.IV.CT     -> device JSON plaintext
#   otp-openssl.sh encrypt CERT.pem KEY.pem IVHEX JSON    -> KID.IV.CT
set -euo pipefail
b64url() { tr '+/' '-_'; }
unb64url() { local s; s=$(tr -- '-_' '+/'); while [ $(( ${#s} % 4 )) -ne 0 ]; do s="$s="; done; printf '%s' "$s" | base64 -d; }
kid() { openssl x509 -in "$1" -outform DER | openssl dgst -sha1 -binary | base64 -w0 | b64url; }
key() {
  local ikm salt
  ikm=$(openssl rsa -in "$2" -traditional -outform DER 2>/dev/null | base64 -w0)
  salt=$(openssl x509 -in "$1" -outform DER | base64 -w0)
  openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt "key:$ikm" -kdfopt "salt:$salt" -kdfopt info: HKDF | tr -d ':\n' | tr 'A-F' 'a-f'
}
case "$1" in
  kid) kid "$2" ;;
  key) key "$2" "$3" ;;
  decrypt)
    IFS=. read -r _kid iv ct <<<"$4"
    ivhex=$(printf '%s' "$iv" | unb64url | od -An -tx1 | tr -d ' \n')
    printf '%s' "$ct" | unb64url | openssl enc -d -aes-256-ctr -K "$(key "$2" "$3")" -iv "${ivhex}00000002" ;;
  encrypt)
    iv=$(printf '%b' "$(printf '%s' "$4" | sed 's/../\\x&/g')" | base64 -w0 | b64url)
    ct=$(printf '%s' "$5" | openssl enc -aes-256-ctr -K "$(key "$2" "$3")" -iv "${4}00000002" | base64 -w0 | b64url)
    printf '%s.%s.%s' "$(kid "$2")" "$iv" "$ct" ;;
  *) echo "usage: $0 kid|key|decrypt|encrypt …" >&2; exit 2 ;;
esac
