#include "document/document_service.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <mutex>

#include "auth/user_service.h"
#include "blob/local_blob_store.h"
#include "config/config.h"
#include "contract/contract_service.h"
#include "crypto/file_cipher.h"
#include "crypto/local_key_provider.h"
#include "store/sqlite_database.h"
#include "tenant/tenant_service.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fault_database.h"
#include "tests/support/recording_audit_sink.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_keys.h"

namespace pactum::document {
namespace {

// Printable text of `size` bytes that differs from position to position.
std::string Text(size_t size, char seed = 'a') {
  std::string s(size, ' ');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>('!' + (i * 7 + seed) % 90);
  return s;
}

std::string ReadAll(ByteSource& s) {
  std::string out;
  std::vector<uint8_t> buf(5000);
  for (;;) {
    auto n = s.Read(buf);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    if (!n.ok() || *n == 0) break;
    out.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
  return out;
}

// Records the order of what the service asks of the store and the database, and can fail
// a Put after it consumed the stream (a full disk at the fsync, say).
struct Trace {
  std::mutex mu;
  std::vector<std::string> events;
  void Add(std::string e) {
    const std::lock_guard lock(mu);
    events.push_back(std::move(e));
  }
};

class TracingBlobStore final : public blob::BlobStore {
 public:
  TracingBlobStore(blob::BlobStore& inner, Trace& trace) : inner_(inner), trace_(trace) {}
  bool fail_put = false;
  Status Put(const blob::BlobId& id, ByteSource& data) override {
    trace_.Add("put begins");
    if (fail_put) {
      std::vector<uint8_t> sink(1 << 16);
      for (;;) {
        ASSIGN_OR_RETURN(const size_t n, data.Read(sink));
        if (n == 0) break;
      }
      return Status(StatusCode::kUnavailable, "the storage is full").WithReason("disk_full");
    }
    Status s = inner_.Put(id, data);
    trace_.Add("put durable");
    return s;
  }
  Result<std::unique_ptr<ByteSource>> GetAt(const blob::BlobId& id, uint64_t offset) override {
    return inner_.GetAt(id, offset);
  }
  Status Delete(const blob::BlobId& id) override { return inner_.Delete(id); }
  Status List(const Visitor& visit) override { return inner_.List(visit); }

 private:
  blob::BlobStore& inner_;
  Trace& trace_;
};

class TracingDatabase final : public store::Database {
 public:
  TracingDatabase(store::Database& inner, Trace& trace) : inner_(inner), trace_(trace) {}
  Status Read(const std::function<Status(store::Session&)>& fn) override { return inner_.Read(fn); }
  Status Write(const std::function<Status(store::Session&)>& fn) override {
    trace_.Add("write begins");
    return inner_.Write(fn);
  }
  Status Ping() override { return inner_.Ping(); }
  store::DatabaseInfo Info() const override { return inner_.Info(); }

 private:
  store::Database& inner_;
  Trace& trace_;
};

class DocumentServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::SqliteOptions o;
    o.path = dir_.File("p.db");
    o.key = testing_support::RandomKey();
    db_ = std::move(store::OpenSqliteDatabase(o)).value();
    faulty_ = std::make_unique<testing_support::FaultDatabase>(*db_);
    provider_ = std::move(crypto::LocalKeyProvider::Create(dir_.File("master.key"), "dev")).value();
    keys_ = std::make_unique<tenant::TenantKeys>(*provider_, clock_);
    tenant::TenantService tenants(*db_, clock_, *keys_);
    acme_ = tenants.Create("acme")->id;
    globex_ = tenants.Create("globex")->id;
    users_ = std::make_unique<auth::UserService>(*db_, clock_, crypto::PasswordParams{},
                                                 testing_support::TestAudit());
    ann_ = users_
               ->Create(testing_support::TestActor(), acme_, "ann@example.com", "Ann",
                        auth::Role::kUser)
               ->first.id;
    bob_ = users_
               ->Create(testing_support::TestActor(), acme_, "bob@example.com", "Bob",
                        auth::Role::kManager)
               ->first.id;
    gus_ = users_
               ->Create(testing_support::TestActor(), globex_, "gus@example.com", "Gus",
                        auth::Role::kAdmin)
               ->first.id;
    contracts_ =
        std::make_unique<contract::ContractService>(*db_, clock_, testing_support::TestAudit());
    const nlohmann::json c = {{"title", "Supply"}};
    anns_ = contracts_->Create(testing_support::TestActor(), acme_, ann_, c)->id;
    bobs_ = contracts_->Create(testing_support::TestActor(), acme_, bob_, c)->id;
    globex_contract_ = contracts_->Create(testing_support::TestActor(), globex_, gus_, c)->id;
    blobs_ = std::move(blob::LocalBlobStore::Open(LocalFileSystem(), dir_.File("files"))).value();
    service_ = std::make_unique<DocumentService>(*faulty_, clock_, *keys_, *blobs_,
                                                 config::DocumentsConfig{}.allowed_types,
                                                 testing_support::TestAudit());
  }

  Result<Document> Upload(const std::string& content, const std::string& name = "a.txt",
                          int64_t contract = 0, int64_t user = 0, int64_t only_owner = 0) {
    SpanSource body(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(content.data()), content.size()));
    return service_->Upload(testing_support::TestActor(), acme_, contract == 0 ? anns_ : contract,
                            user == 0 ? ann_ : user, only_owner, name, body);
  }

  std::string Download(const Document& d, uint64_t offset = 0) {
    auto plain = service_->Open(d, offset);
    EXPECT_TRUE(plain.ok()) << plain.status().ToString();
    return plain.ok() ? ReadAll(**plain) : "";
  }

  int CountObjects() {
    int n = 0;
    EXPECT_TRUE(blobs_->List([&](const blob::BlobId&, auto) { ++n; }).ok());
    return n;
  }

  testing_support::TempDir dir_;
  testing_support::FakeClock clock_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<testing_support::FaultDatabase> faulty_;
  std::unique_ptr<crypto::LocalKeyProvider> provider_;
  std::unique_ptr<tenant::TenantKeys> keys_;
  std::unique_ptr<auth::UserService> users_;
  std::unique_ptr<contract::ContractService> contracts_;
  std::unique_ptr<blob::LocalBlobStore> blobs_;
  std::unique_ptr<DocumentService> service_;
  int64_t acme_ = 0, globex_ = 0, ann_ = 0, bob_ = 0, gus_ = 0;
  int64_t anns_ = 0, bobs_ = 0, globex_contract_ = 0;
};

TEST_F(DocumentServiceTest, RoundTripsEverySizeAroundChunkAndSniffBoundaries) {
  const size_t chunk = crypto::kFileChunkBytes;
  for (const size_t size : {size_t{0}, size_t{1}, chunk - 1, chunk, chunk + 1, 3 * chunk + 5}) {
    const std::string content = Text(size);
    auto d = Upload(content, "file-" + std::to_string(size) + ".txt");
    ASSERT_TRUE(d.ok()) << size << ": " << d.status().ToString();
    EXPECT_EQ(d->size, static_cast<int64_t>(size));
    EXPECT_EQ(d->media_type, "text/plain");
    EXPECT_EQ(d->version, 1);
    EXPECT_EQ(d->sha256.size(), 64U);
    EXPECT_EQ(Download(*d), content) << size;
    if (size > 2) {
      EXPECT_EQ(Download(*d, size - 2), content.substr(size - 2)) << size;
    }
  }
  // SHA-256 of "abc" (FIPS 180-2 example).
  auto abc = Upload("abc", "abc.txt");
  ASSERT_TRUE(abc.ok());
  EXPECT_EQ(abc->sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_F(DocumentServiceTest, TheSameNameAddsVersionsEachReadable) {
  auto v1 = Upload("first", "terms.txt");
  auto v2 = Upload("second", "terms.txt");
  auto other = Upload("other", "annex.txt");
  ASSERT_TRUE(v1.ok() && v2.ok() && other.ok());
  EXPECT_EQ(v1->version, 1);
  EXPECT_EQ(v2->version, 2);
  EXPECT_EQ(other->version, 1);
  auto list = service_->List(acme_, anns_);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 3U);
  EXPECT_EQ((*list)[0].name, "annex.txt");
  EXPECT_EQ((*list)[1].version, 2);  // newest first within a name
  EXPECT_EQ((*list)[2].version, 1);
  EXPECT_EQ(Download(*v1), "first");
  EXPECT_EQ(Download(*v2), "second");
}

TEST_F(DocumentServiceTest, AContentTypeNotAllowedIsRefusedAndLeavesNothing) {
  auto html = Upload("<html><body><script>alert(1)</script></body></html>", "report.pdf");
  EXPECT_EQ(html.status().code(), StatusCode::kUnsupportedMediaType);
  EXPECT_EQ(html.status().reason(), "unsupported_type");
  std::string binary(100'000, '\0');
  binary[0] = '\x7f';
  EXPECT_EQ(Upload(binary, "x.txt").status().code(), StatusCode::kUnsupportedMediaType);
  EXPECT_EQ(CountObjects(), 0);
  EXPECT_TRUE(service_->List(acme_, anns_)->empty());
}

TEST_F(DocumentServiceTest, OwnersRuleAndTenantsAreKeptApart) {
  EXPECT_EQ(Upload("x", "a.txt", bobs_, ann_, /*only_owner=*/ann_).status().reason(), "not_owner");
  EXPECT_TRUE(Upload("x", "a.txt", bobs_, bob_).ok());
  EXPECT_EQ(Upload("x", "a.txt", globex_contract_).status().code(), StatusCode::kNotFound);
  auto d = Upload("mine");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(service_->Get(globex_, d->id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->List(globex_, anns_).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->Delete(testing_support::TestActor(), globex_, d->id, 0).code(),
            StatusCode::kNotFound);
  EXPECT_EQ(service_->Delete(testing_support::TestActor(), acme_, d->id, bob_).reason(),
            "not_owner");
  EXPECT_EQ(CountObjects(), 2);
  EXPECT_TRUE(service_->Delete(testing_support::TestActor(), acme_, d->id, ann_).ok());
  EXPECT_EQ(service_->Get(acme_, d->id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(CountObjects(), 1) << "a deleted document's object goes with it";
}

TEST_F(DocumentServiceTest, AFailedCommitRemovesTheObjectItWrote) {
  faulty_->fail_writes = true;
  EXPECT_EQ(Upload(Text(200'000)).status().code(), StatusCode::kUnavailable);
  faulty_->fail_writes = false;
  EXPECT_EQ(CountObjects(), 0);
}

// The row is written only once the object is durable; a Put that fails (here after the
// whole stream was read, as a full disk at the fsync would) leaves no document.
TEST_F(DocumentServiceTest, TheObjectIsDurableBeforeTheRowIsWritten) {
  Trace trace;
  TracingBlobStore blobs(*blobs_, trace);
  TracingDatabase db(*db_, trace);
  DocumentService traced(db, clock_, *keys_, blobs, config::DocumentsConfig{}.allowed_types,
                         testing_support::TestAudit());
  const std::string content = Text(300'000);
  SpanSource body(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(content.data()), content.size()));
  ASSERT_TRUE(
      traced.Upload(testing_support::TestActor(), acme_, anns_, ann_, 0, "a.txt", body).ok());
  EXPECT_EQ(trace.events, (std::vector<std::string>{"put begins", "put durable", "write begins"}));

  blobs.fail_put = true;
  SpanSource again(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(content.data()), content.size()));
  auto failed = traced.Upload(testing_support::TestActor(), acme_, anns_, ann_, 0, "b.txt", again);
  EXPECT_EQ(failed.status().reason(), "disk_full");
  auto list = service_->List(acme_, anns_);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1U) << "no row for the upload whose object never became durable";
  EXPECT_EQ((*list)[0].name, "a.txt");
}

// A COMMIT that reports failure may still have committed (SQLite can keep it at
// recovery): the object stays, so a row that survives never points at nothing.
TEST_F(DocumentServiceTest, AnUncertainCommitKeepsTheObject) {
  faulty_->fail_after_commit = true;
  const std::string content = Text(100'000);
  EXPECT_EQ(Upload(content).status().code(), StatusCode::kUnavailable);
  faulty_->fail_after_commit = false;
  auto list = service_->List(acme_, anns_);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1U) << "here the commit went through";
  EXPECT_EQ(Download((*list)[0]), content);
}

TEST_F(DocumentServiceTest, OrphanedObjectsAreSweptAfterTheGracePeriodOnly) {
  auto kept = Upload("kept");
  ASSERT_TRUE(kept.ok());
  // An object whose row never committed (a crash between the two).
  const auto orphan = blob::BlobId::Random();
  SpanSource bytes(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>("zz"), 2));
  ASSERT_TRUE(blobs_->Put(orphan, bytes).ok());
  EXPECT_EQ(*service_->SweepOrphans(std::chrono::hours(1)), 0) << "too young to be an orphan";
  for (const auto& id : {orphan, *blob::BlobId::Parse(kept->blob_id)}) {  // both written 2 h ago
    std::filesystem::last_write_time(
        blobs_->PathOf(id), std::filesystem::file_time_type::clock::now() - std::chrono::hours(2));
  }
  EXPECT_EQ(*service_->SweepOrphans(std::chrono::hours(1)), 1);
  EXPECT_EQ(blobs_->Get(orphan).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Download(*kept), "kept");
}

TEST_F(DocumentServiceTest, PurgingTheTrashTakesTheDocumentsAlong) {
  auto d = Upload("doomed");
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(contracts_->Trash(testing_support::TestActor(), acme_, anns_).ok());
  EXPECT_EQ(service_->Get(acme_, d->id).status().code(), StatusCode::kNotFound)
      << "documents of a trashed contract are out of reach";
  EXPECT_EQ(Upload("more").status().code(), StatusCode::kNotFound);
  clock_.Advance(std::chrono::hours(24 * 31));
  auto purged = contracts_->PurgeTrash();
  ASSERT_TRUE(purged.ok());
  EXPECT_EQ(purged->contract_ids, std::vector<int64_t>{anns_});
  EXPECT_EQ(purged->blob_ids, std::vector<std::string>{d->blob_id});
  service_->RemoveObjects(purged->blob_ids);
  EXPECT_EQ(CountObjects(), 0);
}

TEST_F(DocumentServiceTest, AlteredTruncatedOrSwappedObjectsNeverReadAsTheDocument) {
  const std::string content = Text(3 * crypto::kFileChunkBytes + 10);
  auto d = Upload(content);
  SpanSource body(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(content.data()), content.size()));
  auto theirs = service_->Upload(testing_support::TestActor(), globex_, globex_contract_, gus_, 0,
                                 "a.txt", body);
  ASSERT_TRUE(d.ok() && theirs.ok());
  const std::string path = blobs_->PathOf(*blob::BlobId::Parse(d->blob_id));
  const std::string original = [&] {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  auto expect_refused = [&](const std::string& what) {
    auto plain = service_->Open(*d, 0);
    if (!plain.ok()) {
      EXPECT_EQ(plain.status().code(), StatusCode::kDataLoss) << what;
      return;
    }
    std::vector<uint8_t> buf(1 << 20);
    Result<size_t> n = size_t{0};
    size_t total = 0;
    do {
      n = (*plain)->Read(buf);
      if (n.ok()) total += *n;
    } while (n.ok() && *n > 0);
    EXPECT_EQ(n.status().code(), StatusCode::kDataLoss) << what;
    EXPECT_LT(total, content.size()) << what;
  };
  auto write = [&](const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  };
  for (const size_t at : {size_t{5}, size_t{60}, original.size() / 2, original.size() - 1}) {
    std::string flipped = original;
    flipped[at] = static_cast<char>(flipped[at] ^ 0x01);
    write(flipped);
    expect_refused("bit flip at " + std::to_string(at));
  }
  write(original.substr(0, original.size() - 100));
  expect_refused("truncated");
  const size_t sealed_chunk = crypto::kFileChunkBytes + 16;
  std::string swapped = original;
  std::swap_ranges(
      swapped.begin() + crypto::kFileHeaderBytes,
      swapped.begin() + static_cast<std::ptrdiff_t>(crypto::kFileHeaderBytes + sealed_chunk),
      swapped.begin() + static_cast<std::ptrdiff_t>(crypto::kFileHeaderBytes + sealed_chunk));
  write(swapped);
  expect_refused("chunks swapped");
  std::filesystem::copy_file(blobs_->PathOf(*blob::BlobId::Parse(theirs->blob_id)), path,
                             std::filesystem::copy_options::overwrite_existing);
  expect_refused("another tenant's object of the same content");
  write(original);
  EXPECT_EQ(Download(*d), content);
}

TEST_F(DocumentServiceTest, LinksGrantOneDocumentUntilTheyExpire) {
  auto d = Upload("linked");
  ASSERT_TRUE(d.ok());
  auto link = service_->MakeLink(acme_, d->id, ann_, "", 5);
  ASSERT_TRUE(link.ok());
  EXPECT_EQ(link->expires_at, UnixSeconds(clock_.Now()) + 300);
  auto got = service_->Redeem(link->token, "");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->id, d->id);
  clock_.Advance(std::chrono::seconds(299));
  EXPECT_TRUE(service_->Redeem(link->token, "").ok());
  clock_.Advance(std::chrono::seconds(1));
  EXPECT_EQ(service_->Redeem(link->token, "").status().reason(), "link_expired");
  EXPECT_EQ(service_->MakeLink(acme_, d->id, ann_, "", 61).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->MakeLink(acme_, d->id, ann_, "", 0).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->MakeLink(globex_, d->id, gus_, "", 5).status().code(), StatusCode::kNotFound);
}

TEST_F(DocumentServiceTest, ABoundLinkWorksOnlyWithItsCredential) {
  auto d = Upload("bound");
  ASSERT_TRUE(d.ok());
  auto link = service_->MakeLink(acme_, d->id, ann_, "session:one", 5);
  ASSERT_TRUE(link.ok());
  EXPECT_TRUE(service_->Redeem(link->token, "session:one").ok());
  EXPECT_EQ(service_->Redeem(link->token, "session:two").status().reason(), "link_not_yours");
  EXPECT_EQ(service_->Redeem(link->token, "").status().reason(), "link_not_yours");
  EXPECT_EQ(service_->Redeem(link->token, "token:1").status().reason(), "link_not_yours");
}

TEST_F(DocumentServiceTest, LinksDieWithTheirDocumentOrUser) {
  auto d = Upload("short-lived");
  ASSERT_TRUE(d.ok());
  auto link = service_->MakeLink(acme_, d->id, ann_, "", 5);
  ASSERT_TRUE(link.ok());
  ASSERT_TRUE(
      users_->Update(testing_support::TestActor(), acme_, ann_, {.disabled = true}, nullptr).ok());
  EXPECT_EQ(service_->Redeem(link->token, "").status().reason(), "link_invalid");
  ASSERT_TRUE(
      users_->Update(testing_support::TestActor(), acme_, ann_, {.disabled = false}, nullptr).ok());
  EXPECT_TRUE(service_->Redeem(link->token, "").ok());
  ASSERT_TRUE(service_->Delete(testing_support::TestActor(), acme_, d->id, 0).ok());
  EXPECT_EQ(service_->Redeem(link->token, "").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace pactum::document
