#include "nsl/enclave/client.hpp"

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "nsl/core/strings.hpp"

namespace nsl::enclave {
namespace {

using nlohmann::json;

// The requests that must not be repeated after a connection failed midway.
bool retryable(std::string_view op) { return op != "rotate_root"; }

// Wipes a request or answer text that holds a secret when it goes out of scope.
struct WipeText {
  std::string& text;
  bool secret;
  ~WipeText() {
    if (secret) crypto::wipe(text.data(), text.size());
  }
};

}  // namespace

EnclaveClient::Call::~Call() {
  if (secret) crypto::wipe(body.data(), body.size());
}

EnclaveClient::EnclaveClient(ClientOptions options, metrics::Registry& registry, log::Sink& logs)
    : options_(std::move(options)),
      log_(logs.get("enclave.client")),
      requests_(
          registry.counter("nsl_enclave_requests_total", "Requests to the enclave by operation and outcome.", {"op", "outcome"})),
      duration_(registry.histogram("nsl_enclave_request_duration_seconds", "Duration of requests to the enclave.").with({})),
      pool_("enclave", options_.threads, registry),
      batcher_(
          pool_, [this](std::vector<Call*>& calls) { run_batch(calls); }, options_.max_batch,
          static_cast<int>(options_.threads)) {}

EnclaveClient::~EnclaveClient() {
  pool_.join();
  for (const int fd : idle_) ::close(fd);
}

int EnclaveClient::checkout() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      const int fd = idle_.back();
      idle_.pop_back();
      return fd;
    }
  }
  const int fd = connect_unix(options_.socket_path);
  if (fd < 0) throw EnclaveUnavailable("cannot connect to the enclave at " + options_.socket_path + ": " + std::strerror(errno));
  set_timeouts(fd, options_.timeout);
  const auto reply = write_frame(fd, hello_request(options_.token)) ? read_frame(fd) : std::nullopt;
  const auto j = reply ? json::parse(*reply, nullptr, false) : json();
  if (!j.is_object() || !j.value("ok", false)) {
    ::close(fd);
    const auto message = j.is_object() && j.contains("error") ? j["error"].value("message", "") : "no answer";
    throw EnclaveUnavailable("the enclave refused the connection: " + message);
  }
  return fd;
}

void EnclaveClient::checkin(int fd) {
  std::lock_guard lock(mutex_);
  idle_.push_back(fd);
}

std::string EnclaveClient::exchange(const std::string& body, bool retry) {
  for (int attempt = 0;; ++attempt) {
    const int fd = checkout();
    auto reply = write_frame(fd, body) ? read_frame(fd) : std::nullopt;
    if (!reply) {
      ::close(fd);
      // The enclave closed an idle connection or restarted: once more on a fresh connection.
      if (attempt == 0 && retry) continue;
      throw EnclaveUnavailable("the enclave did not answer");
    }
    checkin(fd);
    return std::move(*reply);
  }
}

// One answer: counted, and either the response without "ok" or the enclave's refusal thrown.
json EnclaveClient::finish(const std::string& op, json answer) {
  if (!answer.is_object() || !answer.value("ok", false)) {
    const auto& err =
        answer.is_object() && answer.contains("error") && answer["error"].is_object() ? answer["error"] : json::object();
    const auto outcome = err.value("code", "internal");
    requests_.with({op, outcome}).inc();
    throw EnclaveError(outcome, err.value("message", "the enclave refused the request"));
  }
  requests_.with({op, "ok"}).inc();
  answer.erase("ok");
  return answer;
}

json EnclaveClient::call_blocking(const json& request) {
  const auto op = request.value("op", "");
  const auto started = std::chrono::steady_clock::now();
  try {
    auto j = json::parse(exchange(request.dump(), retryable(op)), nullptr, false);
    if (!j.is_object()) throw EnclaveUnavailable("the enclave answered something that is not JSON");
    duration_.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    return finish(op, std::move(j));
  } catch (const EnclaveUnavailable& e) {
    requests_.with({op, "unavailable"}).inc();
    log_.warn("enclave unavailable", {{"op", op}, {"error", e.what()}});
    throw;
  }
}

void EnclaveClient::run_batch(std::vector<Call*>& calls) {
  // Frames of about 1 MiB at most: a large request (a storage value) travels alone.
  constexpr std::size_t kFrameBudget = 1 << 20;
  std::vector<Call*> frame;
  std::size_t size = 0;
  for (auto* call : calls) {
    if (!frame.empty() && size + call->body.size() > kFrameBudget) {
      send_batch(frame);
      frame.clear();
      size = 0;
    }
    size += call->body.size();
    frame.push_back(call);
  }
  if (!frame.empty()) send_batch(frame);
}

bool EnclaveClient::plain(const std::vector<Call*>& calls) { return calls.size() == 1 && calls[0]->answer_type == 0; }

std::string EnclaveClient::items_frame(const std::vector<Call*>& calls) {
  std::size_t size = 16;
  for (const auto* c : calls) size += c->body.size() + 5;
  ItemsWriter frame(size);
  for (const auto* c : calls) {
    if (c->answer_type != 0) {
      frame.encoded(c->body);
    } else {
      frame.json(c->body);
    }
  }
  return frame.finish();
}

namespace {

std::string_view text_of(crypto::ByteView b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

}  // namespace

void EnclaveClient::answer(Call& call, const Item& item) {
  try {
    if (call.answer_type != 0 && item.type == call.answer_type) {
      requests_.with({call.op, "ok"}).inc();
      const auto* p = reinterpret_cast<const std::uint8_t*>(item.bytes.data());
      call.bytes = crypto::Bytes(p, p + item.bytes.size());
      call.recovery_id = item.recovery_id;
      return;
    }
    auto j = item.type == 'J' ? json::parse(item.json, nullptr, false) : json();
    if (!j.is_object()) throw EnclaveUnavailable("the enclave answered a request with something that is not a JSON object");
    call.response = finish(call.op, std::move(j));
  } catch (...) {
    call.error = std::current_exception();
  }
}

void EnclaveClient::deliver(std::vector<Call*>& calls, const std::string& reply) {
  if (!reply.empty() && static_cast<unsigned char>(reply[0]) == kItemsFrame) {
    try {
      ItemsReader in(reply);
      if (in.count() != calls.size()) throw std::invalid_argument("it holds " + std::to_string(in.count()) + " answers");
      for (auto* call : calls) answer(*call, in.next());
    } catch (const std::invalid_argument& e) {
      const std::string why =
          "the enclave answered a frame of " + std::to_string(calls.size()) + " requests wrongly: " + e.what();
      fail(calls, std::make_exception_ptr(EnclaveUnavailable(why)), why);
    }
    return;
  }
  // A JSON answer: to a lone JSON request, or the refusal of a whole items frame (then every
  // request of the frame gets it).
  Item item;
  item.type = 'J';
  item.json = reply;
  for (auto* call : calls) answer(*call, item);
}

void EnclaveClient::fail(std::vector<Call*>& calls, const std::exception_ptr& unavailable, const std::string& why) {
  log_.warn("enclave unavailable", {{"requests", calls.size()}, {"error", why}});
  for (auto* call : calls) {
    if (call->done() || call->error) continue;
    requests_.with({call->op, "unavailable"}).inc();
    call->error = unavailable;
  }
}

void EnclaveClient::send_batch(std::vector<Call*>& calls) {
  const auto started = std::chrono::steady_clock::now();
  const bool secret = std::any_of(calls.begin(), calls.end(), [](const Call* c) { return c->secret; });
  try {
    std::string joined = plain(calls) ? std::string() : items_frame(calls);
    const WipeText wipe_frame{joined, secret};
    std::string reply = exchange(plain(calls) ? calls[0]->body : joined, true);
    const WipeText wipe_reply{reply, secret};
    duration_.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    deliver(calls, reply);
  } catch (const EnclaveUnavailable& e) {
    fail(calls, std::current_exception(), e.what());
  }
}

// ---- The asynchronous path ----

struct EnclaveClient::Link {
  explicit Link(const asio::any_io_executor& ex) : socket(ex), timer(ex) {}
  asio::local::stream_protocol::socket socket;
  asio::steady_timer timer;
};

struct EnclaveClient::Pending {
  Pending(Call c, const asio::any_io_executor& ex) : call(std::move(c)), done(ex, 1) {}
  Call call;
  asio::experimental::concurrent_channel<void(boost::system::error_code)> done;
};

void EnclaveClient::attach(asio::any_io_executor io) {
  std::lock_guard lock(mutex_);
  io_ = std::move(io);
}

void EnclaveClient::detach() {
  std::vector<std::shared_ptr<Link>> links;
  {
    std::lock_guard lock(mutex_);
    io_.reset();
    links.swap(idle_links_);
  }
}

asio::awaitable<EnclaveClient::Call> EnclaveClient::call_async(Call request, asio::any_io_executor io) {
  std::shared_ptr<Pending> pending;
  bool start = false;
  {
    std::lock_guard lock(mutex_);
    pending = std::make_shared<Pending>(std::move(request), io);
    queued_.push_back(pending);
    if (senders_ < options_.threads) {
      ++senders_;
      start = true;
    }
  }
  if (start) {
    // Each frame's sender runs on a strand: its socket and timeout timer are used by one at a time.
    std::shared_ptr<Link> link;
    {
      std::lock_guard lock(mutex_);
      if (!idle_links_.empty()) {
        link = std::move(idle_links_.back());
        idle_links_.pop_back();
      }
    }
    asio::co_spawn(link ? link->socket.get_executor() : asio::make_strand(io), send_frames(std::move(link)), asio::detached);
  }
  co_await pending->done.async_receive(asio::as_tuple(asio::use_awaitable));
  if (pending->call.error) std::rethrow_exception(pending->call.error);
  co_return std::move(pending->call);
}

asio::awaitable<std::optional<std::string>> EnclaveClient::exchange_async(std::shared_ptr<Link> shared, const std::string& body) {
  Link& link = *shared;
  // A request that takes longer than the timeout cancels the socket's operations.
  link.timer.expires_after(options_.timeout);
  link.timer.async_wait([weak = std::weak_ptr<Link>(shared)](boost::system::error_code ec) {
    if (ec) return;
    if (const auto l = weak.lock()) l->socket.cancel();
  });
  const auto length = static_cast<std::uint32_t>(body.size());
  const std::array<unsigned char, 4> head{static_cast<unsigned char>(length >> 24), static_cast<unsigned char>(length >> 16),
                                          static_cast<unsigned char>(length >> 8), static_cast<unsigned char>(length)};
  std::optional<std::string> reply;
  const std::array<asio::const_buffer, 2> out{asio::buffer(head), asio::buffer(body)};
  auto [write_error, written] = co_await asio::async_write(link.socket, out, asio::as_tuple(asio::use_awaitable));
  std::array<unsigned char, 4> in_head{};
  if (!write_error) {
    auto [read_error, n] = co_await asio::async_read(link.socket, asio::buffer(in_head), asio::as_tuple(asio::use_awaitable));
    const std::uint32_t size = (std::uint32_t{in_head[0]} << 24) | (std::uint32_t{in_head[1]} << 16) |
                               (std::uint32_t{in_head[2]} << 8) | std::uint32_t{in_head[3]};
    if (!read_error && size <= kMaxFrameBytes) {
      std::string text(size, '\0');
      auto [body_error, m] = co_await asio::async_read(link.socket, asio::buffer(text), asio::as_tuple(asio::use_awaitable));
      if (!body_error) reply = std::move(text);
    }
  }
  link.timer.cancel();
  if (!reply) {
    boost::system::error_code ignored;
    link.socket.close(ignored);
  }
  co_return reply;
}

asio::awaitable<std::shared_ptr<EnclaveClient::Link>> EnclaveClient::open_link() {
  auto link = std::make_shared<Link>(co_await asio::this_coro::executor);
  auto [ec] = co_await link->socket.async_connect(asio::local::stream_protocol::endpoint(options_.socket_path),
                                                  asio::as_tuple(asio::use_awaitable));
  if (ec) throw EnclaveUnavailable("cannot connect to the enclave at " + options_.socket_path + ": " + ec.message());
  const auto reply = co_await exchange_async(link, hello_request(options_.token));
  const auto j = reply ? json::parse(*reply, nullptr, false) : json();
  if (!j.is_object() || !j.value("ok", false)) {
    const auto message = j.is_object() && j.contains("error") ? j["error"].value("message", "") : "no answer";
    throw EnclaveUnavailable("the enclave refused the connection: " + message);
  }
  co_return link;
}

asio::awaitable<void> EnclaveClient::send_frames(std::shared_ptr<Link> link) {
  // Frames of about 1 MiB at most: a large request (a storage value) travels alone.
  constexpr std::size_t kFrameBudget = 1 << 20;
  while (true) {
    std::vector<std::shared_ptr<Pending>> taken;
    {
      std::lock_guard lock(mutex_);
      while (!queued_.empty() && taken.size() < options_.max_batch) {
        taken.push_back(std::move(queued_.front()));
        queued_.pop_front();
      }
      if (taken.empty()) {
        --senders_;
        if (link && link->socket.is_open() && io_) idle_links_.push_back(std::move(link));
        break;
      }
    }
    std::vector<Call*> calls;
    std::size_t size = 0;
    for (std::size_t i = 0; i < taken.size(); ++i) {
      const auto& body = taken[i]->call.body;
      if (!calls.empty() && size + body.size() > kFrameBudget) {
        // The rest goes first in the next frame.
        std::lock_guard lock(mutex_);
        queued_.insert(queued_.begin(), taken.begin() + static_cast<std::ptrdiff_t>(i), taken.end());
        taken.resize(i);
        break;
      }
      size += body.size();
      calls.push_back(&taken[i]->call);
    }
    const bool secret = std::any_of(calls.begin(), calls.end(), [](const Call* c) { return c->secret; });
    std::string joined = plain(calls) ? std::string() : items_frame(calls);
    const WipeText wipe_frame{joined, secret};
    const std::string& frame = plain(calls) ? calls[0]->body : joined;
    const auto started = std::chrono::steady_clock::now();
    std::optional<std::string> reply;
    std::string why = "the enclave did not answer";
    // A connection the enclave closed (idle, or it restarted) gets one more try on a fresh one.
    for (int attempt = 0; attempt < 2 && !reply; ++attempt) {
      if (!link || !link->socket.is_open()) {
        try {
          link = co_await open_link();
        } catch (const std::exception& e) {
          why = e.what();
          link.reset();
        }
        if (!link) break;
      }
      reply = co_await exchange_async(link, frame);
    }
    if (reply) {
      duration_.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      deliver(calls, *reply);
      if (secret) crypto::wipe(reply->data(), reply->size());
    } else {
      fail(calls, std::make_exception_ptr(EnclaveUnavailable(why)), why);
    }
    for (auto& p : taken) p->done.try_send(boost::system::error_code{});
  }
}

asio::awaitable<json> EnclaveClient::call(json request) {
  if (!retryable(request.value("op", ""))) {
    // Never batched: a lost answer must not make it run twice.
    const json* req = &request;
    auto r = co_await pool_.run([this, req] { return call_blocking(*req); });
    co_return r;
  }
  Call c;
  c.op = request.value("op", "");
  c.body = request.dump();
  auto r = co_await json_call(std::move(c));
  co_return r;
}

asio::awaitable<json> EnclaveClient::json_call(Call c) {
  auto done = co_await submit(std::move(c));
  if (!done.response) throw EnclaveUnavailable("the enclave answered a JSON request without JSON");
  co_return std::move(*done.response);
}

asio::awaitable<json> EnclaveClient::secret_call(json request, const char* field) {
  Call c;
  c.op = request.at("op").get<std::string>();
  c.secret = true;
  c.body = request.dump();
  if (field != nullptr) {
    auto& hex = request.at(field).get_ref<std::string&>();
    crypto::wipe(hex.data(), hex.size());
  }
  auto r = co_await json_call(std::move(c));
  co_return r;
}

asio::awaitable<EnclaveClient::Call> EnclaveClient::submit(Call c) {
  std::optional<asio::any_io_executor> io;
  {
    std::lock_guard lock(mutex_);
    io = io_;
  }
  if (io) {
    auto done = co_await call_async(std::move(c), std::move(*io));
    co_return done;
  }
  auto done = co_await batcher_.submit(std::move(c));
  if (done.error) std::rethrow_exception(done.error);
  co_return done;
}

// ---- The typed operations: requests built, and answers read, here only ----

namespace {

// A hex field of an answer, as bytes.
crypto::Bytes bytes_of(const json& answer, const char* name) {
  const auto it = answer.find(name);
  auto bytes = it != answer.end() && it->is_string() ? crypto::from_hex(it->get_ref<const std::string&>()) : std::nullopt;
  if (!bytes) throw std::runtime_error(std::string("the enclave answered without a hex \"") + name + "\"");
  return std::move(*bytes);
}

SealedKey sealed_key_of(std::string kind, std::string key_ref, const json& answer) {
  return SealedKey{std::move(kind), std::move(key_ref), bytes_of(answer, "sealed"), bytes_of(answer, "public_key")};
}

EnclaveInfo info_of(const json& answer) {
  EnclaveInfo out;
  out.mode = answer.value("mode", std::string());
  out.measurement = answer.value("measurement", std::string());
  out.protocol = answer.value("protocol", 0);
  out.root_id = bytes_of(answer, "root_id");
  const auto keys = answer.find("public_keys");
  out.attestation_public_key = bytes_of(keys != answer.end() ? *keys : json::object(), "attestation");
  const auto memory = answer.find("memory");
  out.memory_locked = memory != answer.end() && memory->is_object() && memory->value("locked", false);
  return out;
}

json key_request(const char* op, const SealedKey& key) {
  return {{"op", op}, {"kind", key.kind}, {"key_ref", key.key_ref}, {"sealed", crypto::to_hex(key.sealed)}};
}

Rewrapped rewrapped_of(const json& answer) { return Rewrapped{bytes_of(answer, "sealed"), bytes_of(answer, "root_id")}; }

}  // namespace

asio::awaitable<EnclaveInfo> EnclaveClient::info() {
  json request{{"op", "info"}};
  const auto r = co_await call(std::move(request));
  co_return info_of(r);
}

EnclaveInfo EnclaveClient::info_blocking() { return info_of(call_blocking({{"op", "info"}})); }

asio::awaitable<SealedKey> EnclaveClient::create_key(std::string kind, std::string key_ref, bool exportable) {
  json request{{"op", "create_key"}, {"kind", kind}, {"key_ref", key_ref}, {"exportable", exportable}};
  const auto r = co_await call(std::move(request));
  co_return sealed_key_of(std::move(kind), std::move(key_ref), r);
}

asio::awaitable<SealedKey> EnclaveClient::import_key(std::string kind, std::string key_ref, crypto::ByteView private_key,
                                                     bool exportable) {
  json request{{"op", "import_key"},
               {"kind", kind},
               {"key_ref", key_ref},
               {"private_key", crypto::to_hex(private_key)},
               {"exportable", exportable}};
  const auto r = co_await secret_call(std::move(request), "private_key");
  co_return sealed_key_of(std::move(kind), std::move(key_ref), r);
}

asio::awaitable<TransportKey> EnclaveClient::transport_key() {
  json request{{"op", "transport_key"}};
  const auto r = co_await call(std::move(request));
  co_return TransportKey{bytes_of(r, "public_key"), r.value("format", std::string()), bytes_of(r, "root_id")};
}

asio::awaitable<SealedKey> EnclaveClient::import_wrapped(std::string kind, std::string key_ref,
                                                         const crypto::key_wrap::Wrapped& wrapped, bool exportable) {
  json request{{"op", "import_wrapped"},
               {"kind", kind},
               {"key_ref", key_ref},
               {"wrapped", wrapped_to_json(wrapped)},
               {"exportable", exportable}};
  const auto r = co_await call(std::move(request));
  co_return sealed_key_of(std::move(kind), std::move(key_ref), r);
}

asio::awaitable<crypto::key_wrap::Wrapped> EnclaveClient::export_key(const SealedKey& key, crypto::ByteView recipient) {
  auto request = key_request("export_key", key);
  request["recipient"] = crypto::to_hex(recipient);
  const auto kind = key.kind;
  const auto r = co_await call(std::move(request));
  const auto it = r.find("wrapped");
  if (it == r.end()) throw std::runtime_error("the enclave answered an export without the wrapped key");
  co_return wrapped_from_json(*it, kind);
}

asio::awaitable<KeyInfo> EnclaveClient::public_key(const SealedKey& key) {
  auto request = key_request("public_key", key);
  const auto r = co_await call(std::move(request));
  co_return KeyInfo{bytes_of(r, "public_key"), r.value("exportable", false)};
}

asio::awaitable<crypto::Bytes> EnclaveClient::seal(std::string_view purpose, crypto::ByteView aad, crypto::ByteView plaintext) {
  json request{
      {"op", "seal"}, {"purpose", std::string(purpose)}, {"aad", crypto::to_hex(aad)}, {"plaintext", crypto::to_hex(plaintext)}};
  const auto r = co_await secret_call(std::move(request), "plaintext");
  co_return bytes_of(r, "sealed");
}

asio::awaitable<crypto::Bytes> EnclaveClient::open(std::string_view purpose, crypto::ByteView aad, crypto::ByteView sealed) {
  json request{
      {"op", "open"}, {"purpose", std::string(purpose)}, {"aad", crypto::to_hex(aad)}, {"sealed", crypto::to_hex(sealed)}};
  auto r = co_await secret_call(std::move(request), nullptr);
  std::optional<crypto::Bytes> plaintext;
  const auto it = r.find("plaintext");
  if (it != r.end() && it->is_string()) {
    auto& hex = it->get_ref<std::string&>();
    plaintext = crypto::from_hex(hex);
    crypto::wipe(hex.data(), hex.size());
  }
  if (!plaintext) throw std::runtime_error("the enclave answered without a hex \"plaintext\"");
  co_return std::move(*plaintext);
}

asio::awaitable<crypto::Bytes> EnclaveClient::data_key_create(crypto::ByteView tenant) {
  json request{{"op", "data_key_create"}, {"tenant", crypto::to_hex(tenant)}};
  const auto r = co_await call(std::move(request));
  co_return bytes_of(r, "sealed");
}

asio::awaitable<crypto::Bytes> EnclaveClient::rotate_root() {
  json request{{"op", "rotate_root"}};
  const auto r = co_await call(std::move(request));
  co_return bytes_of(r, "root_id");
}

asio::awaitable<Rewrapped> EnclaveClient::rewrap(std::string_view purpose, crypto::ByteView aad, crypto::ByteView sealed) {
  json request{
      {"op", "rewrap"}, {"purpose", std::string(purpose)}, {"aad", crypto::to_hex(aad)}, {"sealed", crypto::to_hex(sealed)}};
  const auto r = co_await call(std::move(request));
  co_return rewrapped_of(r);
}

asio::awaitable<Rewrapped> EnclaveClient::rewrap(const SealedKey& key) {
  auto request = key_request("rewrap", key);
  request["purpose"] = "key";
  const auto r = co_await call(std::move(request));
  co_return rewrapped_of(r);
}

asio::awaitable<Attestation> EnclaveClient::attest(crypto::ByteView nonce) {
  json request{{"op", "attest"}, {"nonce", crypto::to_hex(nonce)}};
  auto r = co_await call(std::move(request));
  auto signature = bytes_of(r, "signature");
  const auto report = r.find("report");
  if (report == r.end() || !report->is_object()) throw std::runtime_error("the enclave answered without a report");
  co_return Attestation{std::move(*report), std::move(signature)};
}

asio::awaitable<crypto::Bytes> EnclaveClient::jwt_public_key() {
  json request{{"op", "jwt_public_key"}};
  const auto r = co_await call(std::move(request));
  co_return bytes_of(r, "public_key");
}

crypto::Bytes EnclaveClient::jwt_public_key_blocking() {
  return bytes_of(call_blocking({{"op", "jwt_public_key"}}), "public_key");
}

asio::awaitable<crypto::Bytes> EnclaveClient::jwt_sign(std::string_view input) {
  json request{{"op", "jwt_sign"}, {"input", std::string(input)}};
  const auto r = co_await call(std::move(request));
  co_return bytes_of(r, "signature");
}

asio::awaitable<EnclaveClient::Signature> EnclaveClient::sign(const SealedKey& key, crypto::Bytes digest_or_message) {
  // An 'S' item: no JSON or hex on either side of the boundary.
  std::uint8_t kind = 0;
  if (key.kind == "secp256r1") kind = 1;
  if (key.kind == "secp256k1") kind = 2;
  if (key.kind == "ed25519") kind = 3;
  if (kind == 0) throw std::invalid_argument("unknown key kind " + key.kind);
  Call c;
  c.op = "sign";
  c.answer_type = 's';
  c.body = encode_sign_item({kind, key.key_ref, text_of(key.sealed), text_of(digest_or_message)});
  auto done = co_await submit(std::move(c));
  if (!done.bytes) throw EnclaveUnavailable("the enclave answered a signing request without a signature");
  Signature s{std::move(*done.bytes), done.recovery_id};
  co_return s;
}

asio::awaitable<crypto::Bytes> EnclaveClient::data_call(char type, const DataItem& item) {
  Call c;
  c.op = type == 'E' ? "data_encrypt" : "data_decrypt";
  c.answer_type = 'x';
  c.body = encode_data_item(type, item);
  auto done = co_await submit(std::move(c));
  if (!done.bytes) throw EnclaveUnavailable("the enclave answered a " + done.op + " request without bytes");
  co_return std::move(*done.bytes);
}

asio::awaitable<crypto::Bytes> EnclaveClient::data_encrypt(crypto::ByteView tenant, crypto::ByteView sealed_key,
                                                           crypto::ByteView aad, crypto::ByteView plaintext) {
  const DataItem item{text_of(tenant), text_of(sealed_key), text_of(aad), text_of(plaintext)};
  auto out = co_await data_call('E', item);
  co_return out;
}

asio::awaitable<crypto::Bytes> EnclaveClient::data_decrypt(crypto::ByteView tenant, crypto::ByteView sealed_key,
                                                           crypto::ByteView aad, crypto::ByteView ciphertext) {
  const DataItem item{text_of(tenant), text_of(sealed_key), text_of(aad), text_of(ciphertext)};
  auto out = co_await data_call('D', item);
  co_return out;
}

}  // namespace nsl::enclave
