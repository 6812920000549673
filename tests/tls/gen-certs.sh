#!/bin/sh
# Makes the throw-away certificates the TLS tests use, into DIR (a folder in
# the build tree; never commit its contents):
#   ca.pem/ca.key            test CA
#   server.pem/server.key    localhost, 127.0.0.1, ::1 (signed by the CA)
#   expired.pem/expired.key  localhost, valid only in 2020 (signed by the CA)
#   wrong.pem/wrong.key      wrong.example only (signed by the CA)
#   self.pem/self.key        localhost, self-signed
#   other-ca.pem             a second CA that signed none of the above
#   client.pem/client.key    a client certificate (signed by the CA)
# Keys are EC P-256 (fast to make). Usage: gen-certs.sh DIR
set -eu
dir=${1:?usage: gen-certs.sh DIR}
mkdir -p "$dir"
cd "$dir"
rm -rf db && mkdir db
: > db/index.txt
echo 1000 > db/serial

cat > openssl.cnf <<'CNF'
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ ca ]
default_ca = testca
[ testca ]
database = db/index.txt
new_certs_dir = db
serial = db/serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
email_in_dn = no
[ any ]
commonName = supplied
[ v3_ca ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ srv ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
[ wrong ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:wrong.example
[ cli ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
CNF

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# CAs (self-signed, with the v3_ca section)
for c in ca other-ca; do
  key "$c.key"
  openssl req -config openssl.cnf -new -x509 -key "$c.key" -out "$c.pem" -days 2 \
    -subj "/CN=Postie test $c" -extensions v3_ca
done

# sign NAME CN SECTION [startdate enddate]
sign() {
  key "$1.key"
  openssl req -config openssl.cnf -new -key "$1.key" -subj "/CN=$2" -out "$1.csr"
  if [ $# -ge 5 ]; then
    openssl ca -config openssl.cnf -batch -notext -in "$1.csr" -out "$1.pem" \
      -cert ca.pem -keyfile ca.key -extensions "$3" -startdate "$4" -enddate "$5" 2>/dev/null
  else
    openssl ca -config openssl.cnf -batch -notext -in "$1.csr" -out "$1.pem" \
      -cert ca.pem -keyfile ca.key -extensions "$3" -days 2 2>/dev/null
  fi
  rm -f "$1.csr"
}
sign server localhost srv
sign expired localhost srv 20200101000000Z 20200102000000Z
sign wrong wrong.example wrong
sign client "postie test client" cli

key self.key
openssl req -config openssl.cnf -new -x509 -key self.key -out self.pem -days 2 \
  -subj "/CN=localhost" -extensions srv
echo "gen-certs: certificates in $PWD"
