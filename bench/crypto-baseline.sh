#!/usr/bin/env bash
# Compares vaultcore's AES-256-GCM chunk path with OpenSSL's own ceiling on
# this machine, measured in the same run:
#   - `openssl speed -evp aes-256-gcm -bytes 16384 -seconds N` (encryption)
#     and the same with -decrypt (OpenSSL 3.0 supports both);
#   - the same two with -aead (a TLS-like sequence: new IV, 13 bytes of AAD,
#     data, tag per message), which is closer to vaultcore's per-chunk work;
#   - vaultcore_bench --benchmark_filter for BM_GcmChunk{En,De}crypt (32 KiB
#     chunks through ContentCryptor) and BM_OpenSslGcmChunk{En,De}crypt
#     (bare OpenSSL doing the same AEAD work per 32 KiB chunk).
# and prints vaultcore/openssl for encrypt and decrypt. Target: >= 85 %.
#
# Usage: bench/crypto-baseline.sh [path/to/vaultcore_bench]
#   default binary: <repo>/build-bench/bench/vaultcore_bench (Release build:
#   cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release
#   && ninja -C build-bench vaultcore_bench)
# Environment: SECONDS_PER_TEST (default 3), ROUNDS (default 1),
#   TARGET_PERCENT (default 85). Exit status 1 if a ratio misses the target.
# Both tools divide by CPU time (openssl: user time; Google Benchmark: the
# thread's CPU time), so a busy machine skews them less than wall time would.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bench="${1:-$repo/build-bench/bench/vaultcore_bench}"
secs="${SECONDS_PER_TEST:-3}"
rounds="${ROUNDS:-1}"
target="${TARGET_PERCENT:-85}"

if [[ ! -x "$bench" ]]; then
  echo "crypto-baseline: $bench not found; build it in Release first" >&2
  exit 2
fi
command -v openssl >/dev/null || { echo "crypto-baseline: openssl not found" >&2; exit 2; }
command -v python3 >/dev/null || { echo "crypto-baseline: python3 not found" >&2; exit 2; }

# Bytes per second of one `openssl speed -mr` run (the "+F:" line).
openssl_speed() {
  openssl speed -mr "$@" -evp aes-256-gcm -bytes 16384 -seconds "$secs" 2>/dev/null |
    awk -F: '/^\+F:/ { print $4 }'
}

echo "$(openssl version); $(nproc) CPUs; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
echo "openssl speed: 16384-byte buffers, ${secs} s each; vaultcore: 32768-byte chunks"
fail=0
for ((round = 1; round <= rounds; round++)); do
  ossl_enc="$(openssl_speed)"
  json="$("$bench" --benchmark_filter='^BM_(Gcm|OpenSslGcm)Chunk(En|De)crypt$' \
    --benchmark_min_time="$secs" --benchmark_format=json 2>/dev/null)"
  ossl_dec="$(openssl_speed -decrypt)"
  ossl_aead_enc="$(openssl_speed -aead)"
  ossl_aead_dec="$(openssl_speed -aead -decrypt)"

  # Prints the table and exits 1 if vaultcore misses the target.
  if ! BENCH_JSON="$json" python3 - "$round" "$target" "$ossl_enc" "$ossl_dec" \
    "$ossl_aead_enc" "$ossl_aead_dec" <<'EOF'; then
import json, os, sys
rnd, target = sys.argv[1], float(sys.argv[2])
ossl_enc, ossl_dec, aead_enc, aead_dec = (float(x) for x in sys.argv[3:7])
runs = {b["name"]: b["bytes_per_second"] for b in json.loads(os.environ["BENCH_JSON"])["benchmarks"]}
mb = lambda v: v / 1e6
print(f"\nround {rnd}                      encrypt MB/s   decrypt MB/s")
rows = [
    ("openssl speed -evp", ossl_enc, ossl_dec),
    ("openssl speed -aead -evp", aead_enc, aead_dec),
    ("bare OpenSSL per chunk", runs["BM_OpenSslGcmChunkEncrypt"], runs["BM_OpenSslGcmChunkDecrypt"]),
    ("vaultcore ContentCryptor", runs["BM_GcmChunkEncrypt"], runs["BM_GcmChunkDecrypt"]),
]
for name, enc, dec in rows:
    print(f"  {name:<26} {mb(enc):>12.0f}   {mb(dec):>12.0f}")
enc_ratio = 100 * runs["BM_GcmChunkEncrypt"] / ossl_enc
dec_ratio = 100 * runs["BM_GcmChunkDecrypt"] / ossl_dec
print(f"  vaultcore/openssl speed     encrypt {enc_ratio:5.1f} %   decrypt {dec_ratio:5.1f} %"
      f"   (target >= {target:.0f} %)")
print(f"  vaultcore/bare OpenSSL      encrypt "
      f"{100 * runs['BM_GcmChunkEncrypt'] / runs['BM_OpenSslGcmChunkEncrypt']:5.1f} %   decrypt "
      f"{100 * runs['BM_GcmChunkDecrypt'] / runs['BM_OpenSslGcmChunkDecrypt']:5.1f} %")
sys.exit(0 if enc_ratio >= target and dec_ratio >= target else 1)
EOF
    fail=1
  fi
done
if ((fail)); then
  echo -e "\nvaultcore's GCM chunk path is below ${target} % of openssl speed in at least one round"
  exit 1
fi
echo -e "\nvaultcore's GCM chunk path is at or above ${target} % of openssl speed"
