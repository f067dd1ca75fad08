#pragma once

// The backup key: 256 random bits that seal every backup artefact (backup/artefact.h),
// wrapped by the master key (KEK) as KeyRef{"backup", "v<version>"}, the version a random
// 32-bit number (so installations that share a backup directory by mistake never mix up
// keys: every artefact names the version that sealed it). It is kept twice:
//  - in the data directory (<data>/backup.key), so the server starts without reaching a
//    target, and key rotation rewraps it with the other data keys;
//  - on every target (keys/backup-v<version>.kek<KEK version>.key), so a restore needs
//    nothing but a target and the master key — the data directory may be gone.
// Neither copy opens without the master key; a target never holds a key in clear.

#include <memory>
#include <string>
#include <vector>

#include "backup/artefact.h"
#include "backup/backup_target.h"
#include "backup/change_log.h"
#include "crypto/key_provider.h"

namespace pactum::backup {

// The backup key of the data directory: loaded from `local_file`, else taken from a
// target that already holds one (a data directory restored beside its old targets),
// else created. Every reachable target is given its copy under the current KEK version;
// an unreachable one gets it on a later call. kFailedPrecondition when a target holds
// another key under the same version.
Result<BackupKey> OpenBackupKey(crypto::KeyProvider& kek, const std::string& local_file,
                                const std::vector<BackupTarget*>& targets);

// Gives every reachable target its copy of `key` under the current KEK version.
// Returns the first error (other targets are still tried).
Status PublishBackupKey(crypto::KeyProvider& kek, const BackupKey& key,
                        const std::vector<BackupTarget*>& targets);

// Key rotation: rewraps <data>/backup.key (`local_file`) under the provider's current
// KEK version and gives every reachable target its copy under that version (a target
// that is down gets it from the server later). kNotFound when there is no backup key.
// Returns whether every target was reached.
Result<bool> RewrapBackupKey(crypto::KeyProvider& kek, const std::string& local_file,
                             const std::vector<BackupTarget*>& targets);

// The other key files a restored data directory needs (the audit signing key), wrapped
// by the master key as they are: each target keeps a copy (keys/<stem>-<content hash>.key)
// so a restore finds them. A file that does not exist is skipped.
Status PublishKeyFile(const std::string& path, std::string_view stem,
                      const std::vector<BackupTarget*>& targets);
// The text of a published key file of `stem` that `kek` unwraps as `ref`, rewrapped under
// its current version. kNotFound when no target has one.
Result<std::string> FetchKeyFile(crypto::KeyProvider& kek, std::string_view stem,
                                 const crypto::KeyRef& ref,
                                 const std::vector<BackupTarget*>& targets);

// For restores: the backup key of a version, from the first target holding a copy the
// master key opens.
BackupKeyLookup TargetKeyLookup(crypto::KeyProvider& kek, std::vector<BackupTarget*> targets);

}  // namespace pactum::backup
