#include "audit/sql_audit_log.h"

#include <gtest/gtest.h>

#include <fstream>

#include "audit/checkpoint.h"
#include "audit/verifier.h"
#include "crypto/random.h"
#include "store/sqlite_database.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fault_file_system.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_keys.h"

namespace pactum::audit {
namespace {

crypto::SecretBytes Seed() {
  crypto::SecretBytes s(32);
  crypto::RandomBytes(s.span());
  return s;
}

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::SqliteOptions o;
    o.path = dir_.File("p.db");
    o.key = testing_support::RandomKey();
    db_ = std::move(store::OpenSqliteDatabase(o)).value();
    ASSERT_TRUE(db_->Write([](store::Session& s) {
                     return s
                         .Execute(
                             "INSERT INTO tenants (id, slug, created_at) VALUES (1, "
                             "'acme', 'x'), (2, 'globex', 'x')")
                         .status();
                   })
                    .ok());
    signer_ =
        std::make_unique<AuditSigner>(std::move(AuditSigner::FromSeed(Seed().span())).value());
    log_ = std::make_unique<SqlAuditLog>(*db_, clock_, std::move(signer_->RedactKey()).value());
    file_ = std::make_unique<CheckpointFile>(files_, dir_.File("audit-checkpoints.jsonl"));
    checkpointer_ = std::make_unique<Checkpointer>(*log_, *file_, *signer_, clock_,
                                                   CheckpointPolicy{.every_events = 10});
  }

  Event At(int64_t tenant, std::string action, int64_t user = 7) {
    Event e;
    e.action = std::move(action);
    e.target = "contract:1";
    e.actor.tenant_id = tenant;
    e.actor.user_id = user;
    e.actor.ip = "192.0.2.1";
    return e;
  }

  void AppendMany(int64_t tenant, int n) {
    for (int i = 0; i < n; ++i) {
      clock_.Advance(std::chrono::milliseconds(5));
      ASSERT_TRUE(log_->Record(At(tenant, "contract.update")).ok());
    }
  }

  ChainReport Verify(int64_t tenant, const PublicKey* key = nullptr) {
    auto cps = file_->ReadAll();
    EXPECT_TRUE(cps.ok()) << cps.status().ToString();
    auto r = VerifyChain(*log_, cps.ok() ? *cps : std::vector<Checkpoint>{},
                         key != nullptr ? *key : signer_->public_key(), tenant);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : ChainReport{};
  }

  void Sql(const std::function<Status(store::Session&)>& fn) { ASSERT_TRUE(db_->Write(fn).ok()); }

  testing_support::TempDir dir_;
  testing_support::FakeClock clock_;
  testing_support::FaultFileSystem files_{LocalFileSystem()};  // the checkpoint file's disk
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<AuditSigner> signer_;
  std::unique_ptr<SqlAuditLog> log_;
  std::unique_ptr<CheckpointFile> file_;
  std::unique_ptr<Checkpointer> checkpointer_;
};

TEST_F(AuditLogTest, EventsFormOneChainPerTenantWithTheClockTime) {
  AppendMany(1, 3);
  AppendMany(2, 2);
  ASSERT_TRUE(log_->Record(At(0, "tenant.create", 0)).ok());
  auto acme = log_->List({.tenant_id = 1});
  ASSERT_TRUE(acme.ok());
  ASSERT_EQ(acme->size(), 3u);
  EXPECT_EQ((*acme)[0].seq, 3);  // newest first
  EXPECT_EQ((*acme)[2].prev_hash, Hash{});
  EXPECT_EQ((*acme)[1].prev_hash, (*acme)[2].hash);
  EXPECT_EQ((*acme)[0].prev_hash, (*acme)[1].hash);
  EXPECT_EQ(log_->List({.tenant_id = 2})->size(), 2u);
  EXPECT_EQ(log_->List({.tenant_id = 0})->size(), 1u);

  const auto j = EventJson((*acme)[0]);
  EXPECT_EQ(j["seq"], 3);
  EXPECT_EQ(j["time"], "2027-01-01T00:00:00.015Z");
  EXPECT_EQ(j["stream"], "action");
  EXPECT_EQ(j["actor"], "user:7");
  EXPECT_EQ(j["ip"], "192.0.2.1");
  EXPECT_EQ(j["action"], "contract.update");
  EXPECT_EQ(j["target"], "contract:1");
  EXPECT_EQ(j["outcome"], "success");
  EXPECT_TRUE(j["details"].is_object());
  for (int64_t t : {0, 1, 2}) EXPECT_FALSE(Verify(t).problem) << t;
}

TEST_F(AuditLogTest, AnAppendRollsBackWithTheTransactionItDescribes) {
  const Status s = db_->Write([&](store::Session& session) -> Status {
    RETURN_IF_ERROR(log_->Append(session, At(1, "contract.create")));
    return Status(StatusCode::kConflict, "the change failed");
  });
  EXPECT_EQ(s.code(), StatusCode::kConflict);
  EXPECT_TRUE(log_->List({.tenant_id = 1})->empty());
}

TEST_F(AuditLogTest, ListFiltersAndPagesWithACursor) {
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(std::chrono::seconds(1));
    Event e = At(1, i % 2 == 0 ? "auth.login" : "contract.create", i % 2 == 0 ? 3 : 4);
    e.stream = i % 2 == 0 ? Stream::kAuth : Stream::kAction;
    ASSERT_TRUE(log_->Record(e).ok());
  }
  EXPECT_EQ(log_->List({.tenant_id = 1, .stream = Stream::kAuth})->size(), 3u);
  EXPECT_EQ(log_->List({.tenant_id = 1, .actor = "user:4"})->size(), 2u);
  EXPECT_EQ(log_->List({.tenant_id = 1, .action = "contract.create"})->size(), 2u);
  const int64_t t0 = 1798761600000;
  EXPECT_EQ(log_->List({.tenant_id = 1, .from_ms = t0 + 2000, .to_ms = t0 + 3000})->size(), 2u);
  auto first = log_->List({.tenant_id = 1, .limit = 2});
  ASSERT_EQ(first->size(), 2u);
  auto next = log_->List({.tenant_id = 1, .before_seq = first->back().seq, .limit = 2});
  ASSERT_EQ(next->size(), 2u);
  EXPECT_EQ((*next)[0].seq, 3);
  EXPECT_EQ(log_->List({.tenant_id = 2})->size(), 0u);
}

TEST_F(AuditLogTest, ControlCharactersAndInvalidUtf8AreStoredEscaped) {
  Event e = At(1, "document.upload");
  e.actor.user_agent = "curl\r\nX-Injected: yes\x1b[31m\xff";
  e.details["filename"] = "a\nb.pdf";
  ASSERT_TRUE(log_->Record(e).ok());
  const auto stored = log_->List({.tenant_id = 1})->at(0);
  for (const char c : stored.details) {
    EXPECT_GE(static_cast<unsigned char>(c), 0x20) << stored.details;
  }
  const auto j = EventJson(stored);
  EXPECT_EQ(j["details"]["filename"], "a\nb.pdf");
  EXPECT_EQ(j["details"]["user_agent"].get<std::string>().substr(0, 6), "curl\r\n");
  EXPECT_FALSE(Verify(1).problem);
}

TEST_F(AuditLogTest, DetailsSerializedByTheCallerAreStoredAsGivenWhenPrintable) {
  Event e = At(1, "http.request");
  e.details["ignored"] = true;
  e.actor.request_id = "not-added";
  e.details_json = R"({"status":200,"user_agent":"a\u001bb"})";
  ASSERT_TRUE(log_->Record(e).ok());
  e.details_json =
      "{\"raw\":\"a\x1b"
      "b\"}";  // a broken promise: a raw ESC
  ASSERT_TRUE(log_->Record(e).ok());
  const auto stored = log_->List({.tenant_id = 1}).value();
  ASSERT_EQ(stored.size(), 2U);
  EXPECT_EQ(stored[1].details, R"({"status":200,"user_agent":"a\u001bb"})");
  EXPECT_EQ(EventJson(stored[1])["details"]["user_agent"],
            "a\x1b"
            "b");
  EXPECT_EQ(stored[0].details, R"({"unprintable":true})");
  EXPECT_FALSE(Verify(1).problem);
}

TEST_F(AuditLogTest, RedactIsAKeyedHashThatMatchesEqualSecrets) {
  const std::string secret = "link-token-abc";
  const std::string r = log_->Redact(secret);
  EXPECT_EQ(r.rfind("hmac:", 0), 0u);
  EXPECT_EQ(r.find(secret), std::string::npos);
  EXPECT_EQ(r, log_->Redact(secret));
  EXPECT_NE(r, log_->Redact("link-token-abd"));
  SqlAuditLog other(*db_, clock_, Seed());
  EXPECT_NE(r, other.Redact(secret));
}

// Tampering, in the style of LevelDB's log tests.

TEST_F(AuditLogTest, VerifyNamesAChangedEvent) {
  AppendMany(1, 20);
  Sql([](store::Session& s) {
    return s
        .Execute("UPDATE audit_events SET details = '{\"x\":1}' WHERE tenant_id = 1 AND seq = 7")
        .status();
  });
  const auto r = Verify(1);
  ASSERT_TRUE(r.problem);
  EXPECT_EQ(r.problem->kind, "changed");
  EXPECT_EQ(r.problem->seq, 7);
}

TEST_F(AuditLogTest, VerifyNamesAFlippedByteInAnyField) {
  AppendMany(1, 5);
  Sql([](store::Session& s) {
    return s.Execute("UPDATE audit_events SET actor = 'user:8' WHERE tenant_id = 1 AND seq = 2")
        .status();
  });
  auto r = Verify(1);
  ASSERT_TRUE(r.problem);
  EXPECT_EQ(r.problem->kind, "changed");
  EXPECT_EQ(r.problem->seq, 2);
  Sql([](store::Session& s) {
    return s
        .Execute(
            "UPDATE audit_events SET actor = 'user:7', time_ms = time_ms + 1 "
            "WHERE tenant_id = 1 AND seq = 2")
        .status();
  });
  r = Verify(1);
  ASSERT_TRUE(r.problem);
  EXPECT_EQ(r.problem->seq, 2);
}

TEST_F(AuditLogTest, VerifyNamesAnEventDeletedInTheMiddle) {
  AppendMany(1, 20);
  Sql([](store::Session& s) {
    return s.Execute("DELETE FROM audit_events WHERE tenant_id = 1 AND seq = 9").status();
  });
  const auto r = Verify(1);
  ASSERT_TRUE(r.problem);
  EXPECT_EQ(r.problem->kind, "missing");
  EXPECT_EQ(r.problem->seq, 9);
}

TEST_F(AuditLogTest, VerifyReadsPageAfterPageAndNamesAProblemPastTheFirst) {
  // 10,000 events a read: 25,000 take three pages.
  for (int batch = 0; batch < 25; ++batch) {
    std::vector<Event> events(1000, At(1, "http.request"));
    ASSERT_TRUE(log_->AppendBatch(events).ok());
  }
  ASSERT_EQ(checkpointer_->Run(false).value(), 1);
  std::vector<int64_t> progress;
  auto cps = file_->ReadAll().value();
  auto r = VerifyChain(*log_, cps, signer_->public_key(), 1,
                       [&](int64_t events) { progress.push_back(events); });
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->problem);
  EXPECT_EQ(r->events, 25000);
  EXPECT_EQ(r->last_seq, 25000);
  EXPECT_EQ(r->checkpointed_seq, 25000);
  EXPECT_EQ(progress, (std::vector<int64_t>{10000, 20000, 25000}));
  Sql([](store::Session& s) -> Status {
    RETURN_IF_ERROR(
        s.Execute("DELETE FROM audit_events WHERE tenant_id = 1 AND seq = 20001").status());
    return s.Execute("UPDATE audit_events SET seq = seq - 1 WHERE tenant_id = 1 AND seq > 20001")
        .status();
  });
  r = VerifyChain(*log_, cps, signer_->public_key(), 1);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->problem);
  EXPECT_EQ(r->problem->kind, "missing");
  EXPECT_EQ(r->problem->seq, 20001);
  EXPECT_EQ(r->events, 20000);
}

TEST_F(AuditLogTest, VerifyNamesADeletionHiddenByRenumbering) {
  AppendMany(1, 10);
  Sql([](store::Session& s) -> Status {
    RETURN_IF_ERROR(s.Execute("DELETE FROM audit_events WHERE tenant_id = 1 AND seq = 4").status());
    return s.Execute("UPDATE audit_events SET seq = seq - 1 WHERE tenant_id = 1 AND seq > 4")
        .status();
  });
  const auto r = Verify(1);
  ASSERT_TRUE(r.problem);
  EXPECT_EQ(r.problem->kind, "missing");
  EXPECT_EQ(r.problem->seq, 4);
}

TEST_F(AuditLogTest, VerifyNamesTwoSwappedEvents) {
  AppendMany(1, 10);
  Sql([](store::Session& s) -> Status {
    RETURN_IF_ERROR(
        s.Execute("UPDATE audit_events SET seq = 1000 WHERE tenant_id = 1 AND seq = 5").status());
    RETURN_IF_ERROR(
        s.Execute("UPDATE audit_events SET seq = 5 WHERE tenant_id = 1 AND seq = 6").status());
    return s.Execute("UPDATE audit_events SET seq = 6 WHERE tenant_id = 1 AND seq = 1000").status();
  });
  const auto r = Verify(1);
  ASSERT_TRUE(r.problem);
  EXPECT_EQ(r.problem->kind, "reordered");
  EXPECT_EQ(r.problem->seq, 5);
}

TEST_F(AuditLogTest, VerifyNamesNewestEventsDeletedAfterACheckpoint) {
  AppendMany(1, 25);
  ASSERT_EQ(checkpointer_->Run(false).value(), 1);  // 25 >= 10: one checkpoint at seq 25
  EXPECT_FALSE(Verify(1).problem);
  Sql([](store::Session& s) {
    return s.Execute("DELETE FROM audit_events WHERE tenant_id = 1 AND seq > 21").status();
  });
  const auto r = Verify(1);
  ASSERT_TRUE(r.problem);
  EXPECT_EQ(r.problem->kind, "truncated");
  EXPECT_EQ(r.problem->seq, 22);
  EXPECT_EQ(r.checkpointed_seq, 25);
}

TEST_F(AuditLogTest, VerifyNamesAChainRewrittenUnderACheckpoint) {
  AppendMany(1, 12);
  ASSERT_EQ(checkpointer_->Run(false).value(), 1);
  // Rebuild the whole chain with one event changed and every hash recomputed: only the
  // signed checkpoint can tell.
  auto events = log_->ReadChain(1, 0, 100).value();
  events[3].details = R"({"forged":true})";
  Hash prev{};
  std::string bytes;
  for (auto& e : events) {
    CanonicalBytes(e, bytes);
    e.prev_hash = prev;
    e.hash = ChainHash(prev, bytes);
    prev = e.hash;
  }
  Sql([&](store::Session& s) -> Status {
    for (const auto& e : events) {
      RETURN_IF_ERROR(s.Execute("UPDATE audit_events SET details = $1, prev_hash = $2, hash = $3 "
                                "WHERE tenant_id = 1 AND seq = $4",
                                {e.details, store::Blob(e.prev_hash.begin(), e.prev_hash.end()),
                                 store::Blob(e.hash.begin(), e.hash.end()), e.seq})
                          .status());
    }
    return Status::Ok();
  });
  const auto r = Verify(1);
  ASSERT_TRUE(r.problem);
  EXPECT_EQ(r.problem->kind, "changed");
  EXPECT_EQ(r.problem->seq, 12);
  EXPECT_NE(r.problem->message.find("checkpoint"), std::string::npos);
}

TEST_F(AuditLogTest, VerifyRefusesCheckpointsSignedWithAnotherKey) {
  AppendMany(1, 12);
  auto intruder = AuditSigner::FromSeed(Seed().span()).value();
  Checkpoint forged;
  forged.tenant_id = 1;
  forged.seq = 12;
  forged.hash = log_->Head(1)->hash;
  forged.time_ms = 1;
  intruder.Sign(forged);
  ASSERT_TRUE(file_->Append(forged).ok());
  auto r = Verify(1);
  ASSERT_TRUE(r.problem);
  EXPECT_EQ(r.problem->kind, "signature");
  EXPECT_EQ(r.problem->seq, 12);
  // Verified with the intruder's key instead, the same file passes: the key is what
  // binds checkpoints to this server.
  EXPECT_FALSE(Verify(1, &intruder.public_key()).problem);
}

TEST_F(AuditLogTest, CheckpointFileIgnoresATornLastLineAndRefusesDamageElsewhere) {
  AppendMany(1, 12);
  ASSERT_EQ(checkpointer_->Run(false).value(), 1);
  {
    std::ofstream out(file_->path(), std::ios::app);
    out << R"({"tenant":1,"seq":)";
  }
  EXPECT_EQ(file_->ReadAll()->size(), 1u);
  {
    std::ofstream out(file_->path(), std::ios::app);
    out << "\n";
  }
  auto damaged = file_->ReadAll();
  ASSERT_FALSE(damaged.ok());
  EXPECT_EQ(damaged.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(damaged.status().message().find("line 2"), std::string::npos);
}

TEST_F(AuditLogTest, CheckpointsCoveringKeepsOnlyThoseTheChainsHoldOnceEach) {
  AppendMany(1, 5);
  AppendMany(2, 3);
  ASSERT_TRUE(checkpointer_->Run(/*force=*/true).ok());  // acme at 5, globex at 3
  auto signed_now = file_->ReadAll();
  ASSERT_TRUE(signed_now.ok());
  ASSERT_EQ(signed_now->size(), 2U);
  std::vector<Checkpoint> carried = *signed_now;
  carried.push_back((*signed_now)[0]);                        // the same line twice
  Checkpoint beyond{.tenant_id = 1, .seq = 6, .time_ms = 1};  // past acme's head
  signer_->Sign(beyond);
  Checkpoint other_history{.tenant_id = 2, .seq = 2, .time_ms = 1};  // not globex's event 2
  crypto::RandomBytes(other_history.hash);
  signer_->Sign(other_history);
  Checkpoint foreign = (*signed_now)[1];  // globex's head, signed by another key
  const AuditSigner other = std::move(AuditSigner::FromSeed(Seed().span())).value();
  other.Sign(foreign);
  for (const Checkpoint& c : {beyond, other_history, foreign}) carried.push_back(c);

  auto kept = CheckpointsCovering(*log_, carried, signer_->public_key());
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  ASSERT_EQ(kept->size(), 2U);
  EXPECT_EQ(CheckpointLine((*kept)[0]), CheckpointLine((*signed_now)[0]));
  EXPECT_EQ(CheckpointLine((*kept)[1]), CheckpointLine((*signed_now)[1]));
  // Round trip of the file's lines.
  std::string text;
  for (const Checkpoint& c : carried) text += CheckpointLine(c);
  auto parsed = ParseCheckpointLines(text + "{\"tenant\":1");  // a torn last line
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->size(), carried.size());
  EXPECT_EQ(CheckpointLine(parsed->back()), CheckpointLine(carried.back()));
}

TEST_F(AuditLogTest, ACheckpointTheDiskRefusedIsSignedAgainByTheNextRun) {
  AppendMany(1, 12);
  files_.Inject({.op = testing_support::FsOp::kSync});
  EXPECT_EQ(checkpointer_->Run(false).status().code(), StatusCode::kUnavailable);
  files_.Heal();
  EXPECT_TRUE(file_->ReadAll()->empty());
  EXPECT_EQ(checkpointer_->Run(false).value(), 1) << "still due: the failed one did not count";
  EXPECT_EQ(file_->ReadAll()->size(), 1u);
  const ChainReport r = Verify(1);
  EXPECT_FALSE(r.problem);
  EXPECT_EQ(r.checkpointed_seq, 12);
}

TEST_F(AuditLogTest, CheckpointsFollowThePolicy) {
  AppendMany(1, 5);
  EXPECT_EQ(checkpointer_->Run(false).value(), 1);  // a chain's first checkpoint is due at once
  AppendMany(1, 5);
  EXPECT_EQ(checkpointer_->Run(false).value(), 0);  // 5 < 10 events, 25 ms < 60 s
  AppendMany(1, 5);
  EXPECT_EQ(checkpointer_->Run(false).value(), 1);  // 10 events
  AppendMany(1, 1);
  clock_.Advance(std::chrono::seconds(61));
  EXPECT_EQ(checkpointer_->Run(false).value(), 1);  // older than 60 s
  AppendMany(1, 1);
  EXPECT_EQ(checkpointer_->Run(true).value(), 1);  // forced (shutdown)
  EXPECT_EQ(checkpointer_->Run(true).value(), 0);  // nothing new
  // A new checkpointer starts from the file.
  Checkpointer again(*log_, *file_, *signer_, clock_, CheckpointPolicy{.every_events = 10});
  EXPECT_EQ(again.Run(true).value(), 0);
  EXPECT_EQ(file_->ReadAll()->size(), 4u);
  EXPECT_FALSE(Verify(1).problem);
}

TEST_F(AuditLogTest, AMillionUntouchedEventsVerify) {
  std::vector<Event> batch;
  for (int round = 0; round < 1000; ++round) {
    batch.clear();
    for (int i = 0; i < 1000; ++i) {
      Event e = At(1, "http.request");
      e.stream = Stream::kRequest;
      e.target = "/api/v1/contracts/{id}";
      e.details = {{"status", 200}, {"bytes_out", 512}};
      batch.push_back(std::move(e));
    }
    ASSERT_TRUE(log_->AppendBatch(batch).ok());
  }
  ASSERT_EQ(checkpointer_->Run(true).value(), 1);
  int64_t pages = 0;
  auto cps = file_->ReadAll().value();
  auto r = VerifyChain(*log_, cps, signer_->public_key(), 1, [&](int64_t) { ++pages; });
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->problem) << r->problem->message;
  EXPECT_EQ(r->events, 1000000);
  EXPECT_EQ(r->last_seq, 1000000);
  EXPECT_EQ(r->checkpointed_seq, 1000000);
  EXPECT_EQ(pages, 100);
}

}  // namespace
}  // namespace pactum::audit
