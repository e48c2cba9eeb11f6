// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Whole requests through Boost.Beast's request parser as the gateway's server configures it
// (examples/gateway/http_server.cc): the head read first under the header limit, the checks
// the server makes on it (field count, target length, duplicate Content-Length,
// Transfer-Encoding without chunked), then the body under the body limit, then the Request the
// handlers get (ParseTarget included). Up to 8 requests per input, as on a keep-alive
// connection. Self-contained: no sockets; the bytes arrive in chunks of the size the first
// input byte says (1..256), as a slow or a fast client would send them.
#include <algorithm>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "http_message.h"

namespace {

namespace beast = boost::beast;
namespace http = beast::http;

// The gateway's defaults (flags.h; HttpServerOptions in http_server.h).
constexpr std::uint32_t kMaxHeaderBytes = 16 * 1024;
constexpr std::uint64_t kMaxBodyBytes = 16 * 1024;
constexpr std::size_t kMaxHeaders = 100;
constexpr std::size_t kMaxTargetBytes = 8 * 1024;

std::string_view View(beast::string_view s) { return std::string_view(s.data(), s.size()); }

class Connection {
 public:
  Connection(std::string_view bytes, std::size_t chunk) : bytes_(bytes), chunk_(chunk) {}

  // Feeds the parser until `done` holds. False when the parser refused the bytes, or the
  // client went away first.
  template <typename Done>
  bool Pump(http::request_parser<http::string_body>& parser, Done done) {
    beast::error_code ec;
    while (!done()) {
      if (buffer_.size() > 0) {
        const std::size_t used = parser.put(buffer_.data(), ec);
        buffer_.consume(used);
        if (ec == http::error::need_more) {
          ec = {};
        } else if (ec) {
          return false;
        } else if (used > 0) {
          continue;
        }
      }
      if (pos_ >= bytes_.size()) {
        if (parser.got_some() || buffer_.size() > 0) parser.put_eof(ec);
        return !ec && done();
      }
      const std::size_t n = std::min(chunk_, bytes_.size() - pos_);
      auto space = buffer_.prepare(n);
      std::memcpy(space.data(), bytes_.data() + pos_, n);
      buffer_.commit(n);
      pos_ += n;
    }
    return true;
  }

  bool at_end() const { return pos_ >= bytes_.size() && buffer_.size() == 0; }

 private:
  std::string_view bytes_;
  std::size_t chunk_;
  std::size_t pos_ = 0;
  beast::flat_buffer buffer_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = static_cast<std::size_t>(data[0]) + 1;
  Connection conn(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1), chunk);
  for (int served = 0; served < 8 && !conn.at_end(); ++served) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(kMaxHeaderBytes);
    parser.body_limit(kMaxBodyBytes);
    if (!conn.Pump(parser, [&] { return parser.is_header_done(); })) return 0;

    const auto& head = parser.get();
    std::size_t fields = 0;
    int content_lengths = 0;
    for (const auto& field : head) {
      ++fields;
      if (field.name() == http::field::content_length) ++content_lengths;
    }
    if (fields > kMaxHeaders || head.target().size() > kMaxTargetBytes) return 0;
    if (content_lengths > 1 ||
        (head.find(http::field::transfer_encoding) != head.end() && !parser.chunked())) {
      return 0;
    }
    parser.eager(true);  // as http::async_read sets it for the body
    if (!conn.Pump(parser, [&] { return parser.is_done(); })) return 0;

    http::request<http::string_body> msg = parser.release();
    admission::gateway::Request req;
    req.method = std::string(View(msg.method_string()));
    req.target = std::string(View(msg.target()));
    for (const auto& field : msg) {
      req.headers.emplace_back(std::string(View(field.name_string())),
                               std::string(View(field.value())));
    }
    req.body = std::move(msg.body());
    if (req.body.size() > kMaxBodyBytes) __builtin_trap();
    (void)req.get_header_value("Idempotency-Key");
    (void)req.header_count("Authorization");
    if (!admission::gateway::ParseTarget(req.target, &req.path, &req.params)) return 0;
    if (!msg.keep_alive()) return 0;
  }
  return 0;
}
