# An mTLS target for the integration tests (sourced after common.sh):
# openssl s_server with -Verify, trusting only the given CA file.
#
#   mtls NAME CERT KEY CAFILE [s_server options...]
#       one TLS exchange presenting CERT/KEY as the client; the server's and
#       the client's output land in $T/NAME.srv and $T/NAME.cli.  A target
#       that accepted answers "HTTP/1.0 200 ok" (in NAME.cli).
mtls_server_cert() {
	[ -f "$T/mtls-srv.pem" ] && return 0
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/mtls-srv.key" -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
		-days 1 -out "$T/mtls-srv.pem" 2>/dev/null
}
mtls() {
	local name=$1 cert=$2 key=$3 cafile=$4 port spid; shift 4
	mtls_server_cert
	port=$(free_port)
	openssl s_server -accept "127.0.0.1:$port" -cert "$T/mtls-srv.pem" -key "$T/mtls-srv.key" \
		-Verify 1 -verify_return_error -CAfile "$cafile" -www "$@" >"$T/$name.srv" 2>&1 &
	spid=$!
	for _ in $(seq 50); do ss -ltn "sport = :$port" | grep -q LISTEN && break; sleep 0.05; done
	printf 'GET / HTTP/1.0\r\n\r\n' | timeout 10 openssl s_client -connect "127.0.0.1:$port" \
		-cert "$cert" -key "$key" -CAfile "$T/mtls-srv.pem" -verify_return_error -ign_eof \
		>"$T/$name.cli" 2>&1
	kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
}
