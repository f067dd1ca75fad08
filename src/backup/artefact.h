#pragma once

// The sealed form of every backup artefact (DESIGN §8: compressed, encrypted, checked):
//
//   sealed = file cipher(tenant 0, backup key version, object id = the artefact's name)
//              ( zstd frame with content checksum (plain) )
//
// The cipher is the one stored files use (crypto/file_cipher.h: AES-256-GCM in the STREAM
// construction, 64 KiB authenticated chunks, truncation and reordering detected). Its
// header names the backup key version, so an artefact opens with whichever backup key
// sealed it. Binding the object name into every chunk means an artefact copied or renamed
// to another name does not open: a restore cannot be fed last week's snapshot under this
// week's name. Compression comes first (ciphertext does not compress).
//
// Both directions stream with a fixed few MiB of memory (zstd context and buffers),
// whatever the artefact's size: nothing holds a whole artefact.
//
// The returned sources read from `plain` / `sealed`, which must outlive them. Not
// thread-safe (one stream per artefact).

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "common/byte_source.h"
#include "common/status.h"
#include "crypto/file_cipher.h"

namespace pactum::backup {

// zstd level 1, measured on this machine kind (2 cores, loaded by other work; libzstd
// 1.5.4, streaming API, content checksum on) over a 302 MB SQLite database of contracts
// and audit events, CPU time per byte as wall time was noisy:
//   level 1: 0.84 s CPU  ≈ 360 MB/s per core, output 26.3 % of input
//   level 3: 1.52 s CPU  ≈ 200 MB/s per core, output 26.1 % of input
// Level 3 costs 1.8x the CPU for 0.2 points of ratio. zstd's worker threads
// (ZSTD_c_nbWorkers 2) reached 246-376 MB/s wall against 223-232 single-threaded, but
// take the second core from the server it backs up, so the codec stays single-threaded.
// Incompressible (random) input runs at ≈ 1.7-1.9 GB/s at either level (stored blocks).
// Decompression ≈ 1 GB/s per core.
inline constexpr int kArtefactZstdLevel = 1;

// The backup key of a version, for opening (kNotFound: unknown version, which opens as
// kDataLoss).
using BackupKeyLookup = crypto::TenantKeyLookup;

// Reads `plain` and yields the sealed artefact to store under `name`. `backup_key` is the
// 32-byte backup key of version `key_version`; it is not kept. kInvalidArgument for a bad
// key, a name ValidObjectName refuses, or a level outside 1-19. Errors of `plain` come
// out of Read as they are.
Result<std::unique_ptr<ByteSource>> SealingSource(std::span<const uint8_t> backup_key,
                                                  uint32_t key_version, std::string_view name,
                                                  ByteSource& plain,
                                                  int zstd_level = kArtefactZstdLevel);

// Reads the sealed artefact stored under `name` from `sealed` and yields its plaintext.
// kDataLoss (here or from Read) when the artefact was altered, truncated, extended,
// renamed or sealed under another key, or its compressed stream is invalid; plaintext is
// released only after the chunk holding it authenticated, and the end of the stream (0
// from Read) only once the whole artefact did. Errors of `sealed` and of `key_for` other
// than kNotFound come out as they are (a target that is down stays kUnavailable).
Result<std::unique_ptr<ByteSource>> OpeningSource(const BackupKeyLookup& key_for,
                                                  std::string_view name, ByteSource& sealed);

}  // namespace pactum::backup
