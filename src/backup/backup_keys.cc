#include "backup/backup_keys.h"

#include <array>
#include <optional>
#include <utility>

#include "backup/log_format.h"
#include "common/files.h"
#include "crypto/random.h"
#include "crypto/wrapped_key_file.h"

namespace pactum::backup {
namespace {

constexpr std::string_view kKeyPrefix = "keys/";
constexpr size_t kKeyObjectLimit = size_t{64} * 1024;

crypto::KeyRef Ref(uint32_t version) {
  std::string id = "v";  // appended: "v" + std::string trips GCC 12's -Wrestrict
  id += std::to_string(version);
  return {"backup", std::move(id)};
}

std::string KeyObjectPrefix(uint32_t version) {
  return std::string(kKeyPrefix) + "backup-v" + std::to_string(version) + ".kek";
}

std::string KeyObjectName(uint32_t version, uint32_t kek_version) {
  return KeyObjectPrefix(version) + std::to_string(kek_version) + ".key";
}

// The version in a key object's name ("keys/backup-v<version>.kek<n>.key"); 0 if none.
uint32_t VersionOfObject(std::string_view name) {
  const std::string_view head = "keys/backup-v";
  if (!name.starts_with(head)) return 0;
  name.remove_prefix(head.size());
  uint64_t v = 0;
  size_t i = 0;
  for (; i < name.size() && i < 10 && name[i] >= '0' && name[i] <= '9'; ++i) {
    v = v * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  if (i == 0 || v == 0 || v > UINT32_MAX || !name.substr(i).starts_with(".kek")) return 0;
  return static_cast<uint32_t>(v);
}

// The version named in a wrapped backup key file's header ("... id=v<version>").
Result<uint32_t> VersionOfFile(const std::string& path) {
  ASSIGN_OR_RETURN(const std::string text, ReadFile(path));
  const std::string_view head = "pactum-wrapped-key-v1 purpose=backup id=v";
  if (!std::string_view(text).starts_with(head)) {
    return InvalidArgument("key file " + path + " is not a wrapped backup key");
  }
  uint64_t v = 0;
  for (size_t i = head.size(); i < text.size() && text[i] != '\n'; ++i) {
    if (text[i] < '0' || text[i] > '9' || v > UINT32_MAX) {
      return InvalidArgument("key file " + path + " is malformed");
    }
    v = v * 10 + static_cast<uint64_t>(text[i] - '0');
  }
  if (v == 0 || v > UINT32_MAX) return InvalidArgument("key file " + path + " is malformed");
  return static_cast<uint32_t>(v);
}

// The key of `version` from the copies on `target` (any KEK version the master key
// still holds). kNotFound when there is none.
Result<crypto::SecretBytes> KeyFromTarget(crypto::KeyProvider& kek, BackupTarget& target,
                                          uint32_t version) {
  ASSIGN_OR_RETURN(const std::vector<ObjectInfo> objects, target.List(KeyObjectPrefix(version)));
  Status last = NotFound("no backup key v" + std::to_string(version) + " on " + target.name());
  for (auto it = objects.rbegin(); it != objects.rend(); ++it) {  // newest KEK first
    auto source = target.Get(it->name);
    if (!source.ok()) {
      last = source.status();
      continue;
    }
    auto bytes = ReadAll(**source, kKeyObjectLimit);
    if (!bytes.ok()) {
      last = bytes.status();
      continue;
    }
    const std::string text(bytes->begin(), bytes->end());
    auto key = crypto::UnwrapKeyText(text, target.name() + ":" + it->name, kek, Ref(version));
    if (key.ok()) return key;
    last = key.status();
  }
  return last;
}

// A backup key on `target` that this master key opens (a data directory restored
// beside its old targets takes it over). kNotFound when there is none.
Result<BackupKey> AnyKeyFromTarget(crypto::KeyProvider& kek, BackupTarget& target) {
  ASSIGN_OR_RETURN(const std::vector<ObjectInfo> objects, target.List(kKeyPrefix));
  for (const ObjectInfo& o : objects) {
    const uint32_t version = VersionOfObject(o.name);
    if (version == 0) continue;
    auto key = KeyFromTarget(kek, target, version);
    if (key.ok()) return BackupKey{version, std::move(key).value()};
  }
  return NotFound("no backup key this master key opens on " + target.name());
}

}  // namespace

Status PublishBackupKey(crypto::KeyProvider& kek, const BackupKey& key,
                        const std::vector<BackupTarget*>& targets) {
  ASSIGN_OR_RETURN(const std::string text,
                   crypto::WrappedKeyText(kek, Ref(key.version), key.key.span()));
  const std::string name = KeyObjectName(key.version, kek.current_version());
  Status first;
  for (BackupTarget* target : targets) {
    SpanSource source({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
    Status s = target->PutIfAbsent(name, source);
    if (s.code() == StatusCode::kAlreadyExists) {
      // Ours, or (one chance in 2^32) another installation's key of the same version.
      auto existing = KeyFromTarget(kek, *target, key.version);
      const bool same =
          existing.ok() &&
          crypto::ConstantTimeEquals(
              {reinterpret_cast<const char*>(existing->span().data()), existing->span().size()},
              {reinterpret_cast<const char*>(key.key.span().data()), key.key.span().size()});
      s = same ? Status::Ok()
               : FailedPrecondition("backup target " + target->name() +
                                    " holds another backup key under this key's version");
    }
    if (!s.ok() && first.ok()) first = s;
  }
  return first;
}

Result<BackupKey> OpenBackupKey(crypto::KeyProvider& kek, const std::string& local_file,
                                const std::vector<BackupTarget*>& targets) {
  BackupKey key;
  auto version = VersionOfFile(local_file);
  if (version.ok()) {
    key.version = *version;
    ASSIGN_OR_RETURN(key.key, crypto::LoadWrappedKeyFile(local_file, kek, Ref(key.version)));
  } else if (version.status().code() != StatusCode::kNotFound) {
    return version.status();
  } else {
    std::optional<BackupKey> found;
    for (BackupTarget* target : targets) {
      auto k = AnyKeyFromTarget(kek, *target);
      if (k.ok()) {
        found = std::move(k).value();
        break;
      }
    }
    if (found) {
      key = std::move(*found);
      ASSIGN_OR_RETURN(const std::string text,
                       crypto::WrappedKeyText(kek, Ref(key.version), key.key.span()));
      RETURN_IF_ERROR(WriteFileExclusive(local_file, text, 0600));
    } else {
      // A random version: installations that share a backup directory by mistake never
      // mix up their keys (each artefact names the version that sealed it).
      std::array<uint8_t, 4> raw{};
      do {
        crypto::RandomBytes(raw);
        key.version =
            (uint32_t{raw[0]} << 24) | (uint32_t{raw[1]} << 16) | (uint32_t{raw[2]} << 8) | raw[3];
      } while (key.version == 0);
      ASSIGN_OR_RETURN(key.key, crypto::CreateWrappedKeyFile(local_file, kek, Ref(key.version)));
    }
  }
  const Status published = PublishBackupKey(kek, key, targets);
  if (published.code() == StatusCode::kFailedPrecondition) return published;
  return key;  // an unreachable target gets its copy later
}

Result<bool> RewrapBackupKey(crypto::KeyProvider& kek, const std::string& local_file,
                             const std::vector<BackupTarget*>& targets) {
  ASSIGN_OR_RETURN(const uint32_t version, VersionOfFile(local_file));
  RETURN_IF_ERROR(crypto::RewrapKeyFile(local_file, kek, Ref(version)).status());
  BackupKey key;
  key.version = version;
  ASSIGN_OR_RETURN(key.key, crypto::LoadWrappedKeyFile(local_file, kek, Ref(version)));
  return PublishBackupKey(kek, key, targets).ok();
}

Status PublishKeyFile(const std::string& path, std::string_view stem,
                      const std::vector<BackupTarget*>& targets) {
  auto text = ReadFile(path);
  if (text.status().code() == StatusCode::kNotFound) return Status::Ok();
  if (!text.ok()) return text.status();
  const auto digest = HashBytes({reinterpret_cast<const uint8_t*>(text->data()), text->size()});
  const std::string name = std::string(kKeyPrefix) + std::string(stem) + "-" +
                           crypto::HexDigest(digest).substr(0, 16) + ".key";
  Status first;
  for (BackupTarget* target : targets) {
    SpanSource source({reinterpret_cast<const uint8_t*>(text->data()), text->size()});
    Status s = target->PutIfAbsent(name, source);
    if (s.code() == StatusCode::kAlreadyExists) s = Status::Ok();  // same content, same name
    if (!s.ok() && first.ok()) first = s;
  }
  return first;
}

Result<std::string> FetchKeyFile(crypto::KeyProvider& kek, std::string_view stem,
                                 const crypto::KeyRef& ref,
                                 const std::vector<BackupTarget*>& targets) {
  const std::string prefix = std::string(kKeyPrefix) + std::string(stem) + "-";
  Status last = NotFound("no " + std::string(stem) + " key on any backup target");
  for (BackupTarget* target : targets) {
    auto objects = target->List(prefix);
    if (!objects.ok()) {
      last = objects.status();
      continue;
    }
    for (auto it = objects->rbegin(); it != objects->rend(); ++it) {
      auto source = target->Get(it->name);
      if (!source.ok()) continue;
      auto bytes = ReadAll(**source, kKeyObjectLimit);
      if (!bytes.ok()) continue;
      const std::string text(bytes->begin(), bytes->end());
      auto key = crypto::UnwrapKeyText(text, target->name() + ":" + it->name, kek, ref);
      if (!key.ok()) {
        last = key.status();
        continue;
      }
      return crypto::WrappedKeyText(kek, ref, key->span());
    }
  }
  return last;
}

BackupKeyLookup TargetKeyLookup(crypto::KeyProvider& kek, std::vector<BackupTarget*> targets) {
  return [&kek, targets = std::move(targets)](uint32_t version) -> Result<crypto::SecretBytes> {
    Status last = NotFound("no backup key v" + std::to_string(version) + " on any target");
    for (BackupTarget* target : targets) {
      auto key = KeyFromTarget(kek, *target, version);
      if (key.ok()) return key;
      if (key.status().code() != StatusCode::kNotFound) last = key.status();
    }
    return last;
  };
}

}  // namespace pactum::backup
