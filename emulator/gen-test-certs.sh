#!/bin/sh
# Generates a throw-away test CA, a server certificate for the emulator
# (127.0.0.1, localhost, graph.microsoft.com, login.microsoftonline.com) and
# an app client certificate for the client-assertion flow. Test use only.
set -eu
out=$1
mkdir -p "$out"
cd "$out"
umask 077
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 \
	-subj "/CN=approvald test CA" -keyout ca-key.pem -out ca.pem \
	-addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=graph-emulator" \
	-keyout server-key.pem -out server.csr 2>/dev/null
cat > server.ext <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:graph.microsoft.com,DNS:login.microsoftonline.com
EXT
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem \
	-CAcreateserial -days 3650 -sha256 -extfile server.ext \
	-out server.pem 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 \
	-subj "/CN=approvald app" -keyout app-key.pem -out app.pem 2>/dev/null
rm -f server.csr server.ext ca.srl
chmod 644 ca.pem server.pem app.pem
