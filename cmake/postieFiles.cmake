# Source and include lists of Postie, for builds that do not use CMake
# (firmware projects: add these files and folders to your own build).
# Paths are relative to POSTIE_ROOT (the folder holding this repository).
#
#   POSTIE_CORE_SOURCES   no I/O at all: always needed
#   POSTIE_POP3_SOURCES   blocking POP3 client
#   POSTIE_SMTP_SOURCES   blocking SMTP client and message composer
#   POSTIE_POSIX_SOURCES  POSIX TCP transport (hosts only)
#   POSTIE_TLS_OPENSSL_SOURCES  OpenSSL TLS transport (hosts with OpenSSL;
#                         link libssl and libcrypto)
#   POSTIE_INCLUDE_DIRS   public headers

if(NOT DEFINED POSTIE_ROOT)
  get_filename_component(POSTIE_ROOT "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
endif()

set(POSTIE_CORE_SOURCES
  ${POSTIE_ROOT}/src/core/status.c
  ${POSTIE_ROOT}/src/core/line.c
  ${POSTIE_ROOT}/src/core/transport.c
  ${POSTIE_ROOT}/src/core/base64.c
  ${POSTIE_ROOT}/src/core/md5.c
  ${POSTIE_ROOT}/src/core/pop3_proto.c
  ${POSTIE_ROOT}/src/core/sha256.c
  ${POSTIE_ROOT}/src/core/scram.c
  ${POSTIE_ROOT}/src/core/base64_stream.c
  ${POSTIE_ROOT}/src/core/compose.c
  ${POSTIE_ROOT}/src/core/smtp_proto.c
  ${POSTIE_ROOT}/src/core/sasl.c
  ${POSTIE_ROOT}/src/core/security.c
  ${POSTIE_ROOT}/src/core/conn.c
  ${POSTIE_ROOT}/src/core/sasl_exchange.c
)

set(POSTIE_POP3_SOURCES
  ${POSTIE_ROOT}/src/core/pop3_session.c
  ${POSTIE_ROOT}/src/pop3/pop3.c
)

set(POSTIE_SMTP_SOURCES
  ${POSTIE_ROOT}/src/core/smtp_session.c
  ${POSTIE_ROOT}/src/smtp/smtp.c
)

set(POSTIE_POSIX_SOURCES
  ${POSTIE_ROOT}/ports/posix/tcp.c
  ${POSTIE_ROOT}/ports/posix/posix_wait.c
  ${POSTIE_ROOT}/ports/posix/random.c
)

set(POSTIE_TLS_OPENSSL_SOURCES
  ${POSTIE_ROOT}/ports/posix/tls_openssl.c
)

set(POSTIE_INCLUDE_DIRS
  ${POSTIE_ROOT}/include
)

# NetX Duo compatibility layer (compat/netx, library postie_netx): POSIX hosts
# only (POSIX threads and the host's TCP); needs the POP3, SMTP and POSIX
# sources above. Its TLS calls (nx_postie_tls.h) need POSTIE_TLS_OPENSSL_SOURCES
# and POSTIE_HAVE_OPENSSL=1 defined when compiling these files; without them
# they return NX_POSTIE_TLS_NOT_AVAILABLE.
set(POSTIE_NETX_SOURCES
  ${POSTIE_ROOT}/compat/netx/nx_packet.c
  ${POSTIE_ROOT}/compat/netx/nx_ip.c
  ${POSTIE_ROOT}/compat/netx/tx_thread.c
  ${POSTIE_ROOT}/compat/netx/nx_pop3_client.c
  ${POSTIE_ROOT}/compat/netx/nx_smtp_client.c
  ${POSTIE_ROOT}/compat/netx/nx_postie_tls.c
)
set(POSTIE_NETX_INCLUDE_DIRS
  ${POSTIE_ROOT}/compat/netx/include
)
