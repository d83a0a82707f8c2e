// OpenSSL 3 (Debian: libssl-dev): SHA-256 checksums of model files, constant-time key
// comparison (CRYPTO_memcmp) and optional TLS for the HTTP server.
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>

// SSL_CTX_set_min_proto_version is a macro; Swift cannot call macros.
static inline int vg_ssl_ctx_set_min_tls12(SSL_CTX *ctx) {
    return (int)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
}
static inline long vg_ssl_ctx_set_mode_partial_write(SSL_CTX *ctx) {
    return SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}
