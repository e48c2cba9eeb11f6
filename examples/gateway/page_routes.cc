// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "page_routes.h"

#include <string>
#include <string_view>
#include <vector>

#include "http_toolkit.h"
#include "json_codec.h"
#include "web_assets.h"

namespace admission::gateway {
namespace {

std::string ContentTypeOf(std::string_view name) {
  auto ends_with = [name](std::string_view ext) {
    return name.size() >= ext.size() && name.substr(name.size() - ext.size()) == ext;
  };
  if (ends_with(".html")) return "text/html; charset=utf-8";
  if (ends_with(".js")) return "text/javascript; charset=utf-8";
  if (ends_with(".css")) return "text/css; charset=utf-8";
  if (ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

}  // namespace

void AddPageRoutes(const RouteContext& ctx, RouteTable& routes) {
  // Nothing here touches the store: the I/O threads answer it all at once.
  RouteTable::Guards io_thread;
  io_thread.io_thread = true;
  routes.Add(RouteId::kConfig, "GET", "/api/v1/config", io_thread,
             [ctx](const Request&, Response& res) {
               Reply(res, 200, Json{{"default_event", ctx.flags.default_event}});
             });

  // One route class for every page, so that the label stays "pages" whatever is asked for.
  constexpr std::string_view kPages = "pages";
  for (std::size_t i = 0; i < kWebAssetCount; ++i) {
    const WebAsset& asset = kWebAssets[i];
    const std::string name = asset.name;
    std::vector<std::string> paths = {"/static/" + name};
    if (name == "index.html") paths = {"/", "/index.html"};
    if (name == "operator.html") paths = {"/admin", "/operator.html"};
    const std::string type = ContentTypeOf(name);
    // Chart.js changes only with the Debian package, never with the gateway's own pages: a
    // browser may keep it for a week (the pages themselves are revalidated every time).
    const std::string cache = name == "chart.min.js" ? "public, max-age=604800" : "no-cache";
    for (const std::string& path : paths) {
      routes.Add(
          RouteId::kPage, "GET", path, io_thread,
          [&asset, type, cache](const Request&, Response& res) {
            res.set_header("Cache-Control", cache);
            res.set_header("Content-Security-Policy",
                           "default-src 'self'; frame-ancestors 'none'; base-uri 'none'");
            res.set_header("Referrer-Policy", "no-referrer");
            res.set_content(reinterpret_cast<const char*>(asset.data), asset.size, type);
          },
          kPages);
    }
  }
  // A miss under /static/ is still a page request: counted and logged as one, and sent plain
  // like the pages.
  routes.Claim(RouteId::kPage, "GET", "/static/{asset...}", kPages);
}

}  // namespace admission::gateway
