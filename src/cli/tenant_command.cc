#include <iostream>

#include <nlohmann/json.hpp>

#include "auth/session_service.h"
#include "auth/two_factor.h"
#include "auth/user_service.h"
#include "cli/commands.h"
#include "cli/runtime.h"
#include "tenant/settings_service.h"
#include "tenant/tenant_service.h"

namespace pactum::cli {
namespace {

// What the tenant commands work with; valid during the call.
struct Tenants {
  const config::Config& cfg;
  DataDirectory& data;
  const Clock& clock;
  tenant::TenantKeys& keys;
  tenant::TenantService& service;
};

// Loads the config, opens the data directory and runs `fn` with its tenants; the exit
// code of the failing step, or fn's.
int WithTenants(const CommonOptions& options, const std::function<int(Tenants&)>& fn) {
  int code = kExitOk;
  auto opened = LoadAndOpen(options, DirectoryAccess::kShared, &code);
  if (!opened) return code;
  SystemClock clock;
  tenant::TenantKeys keys(*opened->data.keys, clock);
  tenant::TenantService service(*opened->data.db, clock, keys);
  Tenants tenants{opened->config, opened->data, clock, keys, service};
  return fn(tenants);
}

// What the commands on one named tenant share; valid during the call.
struct OneTenant {
  const config::Config& cfg;
  DataDirectory& data;
  const Clock& clock;
  tenant::TenantKeys& keys;
  audit::SqlAuditLog& audit_log;
  const tenant::Tenant& tenant;
};

// As WithTenants, with the audit log and the tenant `slug`; the exit code of the failing
// step (with one line on stderr), or fn's.
int WithTenant(const CommonOptions& options, const std::string& slug,
               const std::function<int(OneTenant&)>& fn) {
  return WithTenants(options, [&](Tenants& all) {
    auto audit_log = OpenAuditLog(all.cfg, all.data, all.clock);
    if (!audit_log.ok()) {
      PrintError(audit_log.status().message());
      return kExitFailure;
    }
    auto t = all.service.FindBySlug(slug);
    if (!t.ok()) {
      PrintError("no tenant " + slug);
      return kExitFailure;
    }
    OneTenant one{all.cfg, all.data, all.clock, all.keys, **audit_log, *t};
    return fn(one);
  });
}

}  // namespace

void AddTenantCommand(CLI::App& app, std::function<int()>& run) {
  auto* tenant = app.add_subcommand("tenant", "Manage tenants");
  tenant->require_subcommand(1);

  auto create_opts = std::make_shared<CommonOptions>();
  auto slug = std::make_shared<std::string>();
  auto admin_email = std::make_shared<std::string>();
  auto admin_name = std::make_shared<std::string>("Administrator");
  auto* create = tenant->add_subcommand(
      "create", "Create a tenant and its first admin, who gets a one-time password (shown once)");
  create->add_option("slug", *slug, "Tenant slug: 2-40 characters of a-z, 0-9, '-'")->required();
  create->add_option("--admin-email", *admin_email, "Email address of the first admin")->required();
  create->add_option("--admin-name", *admin_name, "Name of the first admin");
  AddCommonOptions(*create, *create_opts);
  create->callback([&run, create_opts, slug, admin_email, admin_name] {
    run = [create_opts, slug, admin_email, admin_name] {
      if (!tenant::IsValidSlug(*slug)) {
        PrintError("tenant slug must be 2-40 characters of a-z, 0-9 and '-'");
        return kExitUsage;
      }
      if (const Status s = auth::CheckEmail(*admin_email); !s.ok()) {
        PrintError("--admin-email: " + s.message());  // says why: "a@b" needs a dot ...
        return kExitUsage;
      }
      int code = kExitOk;
      auto opened = LoadAndOpen(*create_opts, DirectoryAccess::kShared, &code);
      if (!opened) return code;
      const config::Config& cfg = opened->config;
      DataDirectory& data = opened->data;
      auto created = CreateTenantWithAdmin(cfg, data, *slug, *admin_email, *admin_name);
      if (!created.ok()) {
        PrintError(created.status().message());
        return kExitFailure;
      }
      if (create_opts->json) {
        std::cout << nlohmann::json{{"tenant", created->tenant.slug},
                                    {"id", created->tenant.id},
                                    {"created_at", created->tenant.created_at},
                                    {"admin_email", created->admin.email},
                                    {"one_time_password", created->one_time_password}}
                  << std::endl;
      } else {
        std::cout << "created tenant " << created->tenant.slug << " with admin "
                  << created->admin.email << "\none-time password (shown once, to be changed "
                  << "at the first login): " << created->one_time_password << std::endl;
      }
      return kExitOk;
    };
  });

  // The operator's way back in when a tenant's admins locked themselves out (an
  // allowlist without their address, 2FA required and lost).
  auto settings_opts = std::make_shared<CommonOptions>();
  auto settings_slug = std::make_shared<std::string>();
  auto require_2fa = std::make_shared<std::string>();
  auto allowlist = std::make_shared<std::vector<std::string>>();
  auto clear_allowlist = std::make_shared<bool>(false);
  auto* settings = tenant->add_subcommand(
      "settings",
      "Show a tenant's security settings, or change its IP allowlist and 2FA requirement "
      "(a running server applies the change within 5 seconds)");
  settings->add_option("slug", *settings_slug, "Tenant slug")->required();
  settings->add_option("--require-2fa", *require_2fa, "on or off")
      ->check(CLI::IsMember({"on", "off"}));
  settings->add_option("--ip-allowlist", *allowlist,
                       "Replace the allowlist with these CIDRs (repeat the option)");
  settings->add_flag("--clear-ip-allowlist", *clear_allowlist,
                     "Allow every address (remove the allowlist)");
  AddCommonOptions(*settings, *settings_opts);
  settings->callback([&run, settings_opts, settings_slug, require_2fa, allowlist, clear_allowlist] {
    run = [settings_opts, settings_slug, require_2fa, allowlist, clear_allowlist] {
      if (*clear_allowlist && !allowlist->empty()) {
        PrintError("--ip-allowlist and --clear-ip-allowlist exclude each other");
        return kExitUsage;
      }
      std::vector<IpNetwork> networks;
      for (const std::string& cidr : *allowlist) {
        auto n = IpNetwork::Parse(cidr);
        if (!n.ok()) {
          PrintError("--ip-allowlist: " + cidr + " is not an IPv4 or IPv6 network");
          return kExitUsage;
        }
        networks.push_back(*n);
      }
      return WithTenant(*settings_opts, *settings_slug, [&](OneTenant& one) {
        tenant::SettingsService service(*one.data.db, one.clock, one.audit_log);
        auto current = service.Get(one.tenant.id);
        if (!current.ok()) {
          PrintError(current.status().message());
          return kExitFailure;
        }
        tenant::TenantSettings updated = **current;
        const bool change = !require_2fa->empty() || !allowlist->empty() || *clear_allowlist;
        if (change) {
          auto stored = service.Update(audit::Actor::System(one.tenant.id), one.tenant.id,
                                       [&](tenant::TenantSettings& s) {
                                         if (!require_2fa->empty())
                                           s.require_2fa = *require_2fa == "on";
                                         if (!allowlist->empty()) s.ip_allowlist = networks;
                                         if (*clear_allowlist) s.ip_allowlist.clear();
                                         return Status::Ok();
                                       });
          if (!stored.ok()) {
            PrintError(stored.status().message());
            return kExitFailure;
          }
          updated = *stored;
        }
        nlohmann::json j = tenant::ToJson(updated);
        if (settings_opts->json) {
          j["tenant"] = one.tenant.slug;
          std::cout << j << std::endl;
        } else {
          std::cout << "tenant " << one.tenant.slug << (change ? " (changed)" : "") << "\n";
          for (const auto& [key, value] : j.items())
            std::cout << "  " << key << ": " << value << "\n";
        }
        return kExitOk;
      });
    };
  });

  // For a tenant whose only admin lost every second factor.
  auto reset_opts = std::make_shared<CommonOptions>();
  auto reset_slug = std::make_shared<std::string>();
  auto reset_email = std::make_shared<std::string>();
  auto* reset = tenant->add_subcommand(
      "reset-2fa",
      "Turn off a user's two-factor login (after checking who asks) and end their sessions");
  reset->add_option("slug", *reset_slug, "Tenant slug")->required();
  reset->add_option("--email", *reset_email, "The user's email address")->required();
  AddCommonOptions(*reset, *reset_opts);
  reset->callback([&run, reset_opts, reset_slug, reset_email] {
    run = [reset_opts, reset_slug, reset_email] {
      return WithTenant(*reset_opts, *reset_slug, [&](OneTenant& one) {
        store::Database& db = *one.data.db;
        tenant::SettingsService settings(db, one.clock, one.audit_log);
        auth::UserService users(db, one.clock, PasswordParamsFrom(one.cfg), one.audit_log);
        auth::SessionService sessions(db, one.clock, settings, one.audit_log);
        auth::TwoFactorService two_factor(db, one.clock, one.keys, one.audit_log);
        auto user = users.FindByEmail(one.tenant.id, *reset_email);
        if (!user.ok()) {
          PrintError("no user " + *reset_email + " in tenant " + one.tenant.slug);
          return kExitFailure;
        }
        for (const Status& s :
             {two_factor.Reset(audit::Actor::System(one.tenant.id), one.tenant.id, user->id),
              sessions.EndOthers(user->id, "")}) {
          if (!s.ok()) {
            PrintError(s.message());
            return kExitFailure;
          }
        }
        if (reset_opts->json) {
          std::cout << nlohmann::json{{"tenant", one.tenant.slug},
                                      {"email", user->email},
                                      {"two_factor_enabled", false}}
                    << std::endl;
        } else {
          std::cout << "two-factor login is off for " << user->email << " in " << one.tenant.slug
                    << "; their sessions ended\n";
        }
        return kExitOk;
      });
    };
  });

  auto list_opts = std::make_shared<CommonOptions>();
  auto* list = tenant->add_subcommand("list", "List tenants");
  AddCommonOptions(*list, *list_opts);
  list->callback([&run, list_opts] {
    run = [list_opts] {
      return WithTenants(*list_opts, [&](Tenants& tenants) {
        auto all = tenants.service.List();
        if (!all.ok()) {
          PrintError(all.status().message());
          return kExitFailure;
        }
        if (list_opts->json) {
          auto arr = nlohmann::json::array();
          for (const auto& t : *all) {
            arr.push_back({{"tenant", t.slug}, {"id", t.id}, {"created_at", t.created_at}});
          }
          std::cout << nlohmann::json{{"tenants", arr}} << std::endl;
        } else {
          for (const auto& t : *all) std::cout << t.slug << "\t" << t.created_at << "\n";
        }
        return kExitOk;
      });
    };
  });
}

}  // namespace pactum::cli
