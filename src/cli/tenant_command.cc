#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/runtime.h"
#include "tenant/tenant_service.h"

namespace pactum::cli {
namespace {

// Loads the config, opens the data directory and runs `fn` with a TenantService; the
// exit code of the failing step, or fn's.
int WithTenants(const CommonOptions& options,
                const std::function<int(tenant::TenantService&)>& fn) {
  auto cfg = LoadConfig(options);
  if (!cfg) return kExitUsage;
  auto data = OpenDataDirectory(*cfg, nullptr);
  if (!data.ok()) {
    PrintError(data.status().message());
    return kExitFailure;
  }
  SystemClock clock;
  tenant::TenantKeys keys(*data->keys, clock);
  tenant::TenantService tenants(*data->db, clock, keys);
  return fn(tenants);
}

}  // namespace

void AddTenantCommand(CLI::App& app, std::function<int()>& run) {
  auto* tenant = app.add_subcommand("tenant", "Manage tenants");
  tenant->require_subcommand(1);

  auto create_opts = std::make_shared<CommonOptions>();
  auto slug = std::make_shared<std::string>();
  auto* create = tenant->add_subcommand("create", "Create a tenant");
  create->add_option("slug", *slug, "Tenant slug: 2-40 characters of a-z, 0-9, '-'")->required();
  AddCommonOptions(*create, *create_opts);
  create->callback([&run, create_opts, slug] {
    run = [create_opts, slug] {
      if (!tenant::IsValidSlug(*slug)) {
        PrintError("tenant slug must be 2-40 characters of a-z, 0-9 and '-'");
        return kExitUsage;
      }
      return WithTenants(*create_opts, [&](tenant::TenantService& tenants) {
        auto t = tenants.Create(*slug);
        if (!t.ok()) {
          PrintError(t.status().message());
          return kExitFailure;
        }
        if (create_opts->json) {
          std::cout << nlohmann::json{{"tenant", t->slug},
                                      {"id", t->id},
                                      {"created_at", t->created_at}}
                    << std::endl;
        } else {
          std::cout << "created tenant " << t->slug << std::endl;
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
      return WithTenants(*list_opts, [&](tenant::TenantService& tenants) {
        auto all = tenants.List();
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
