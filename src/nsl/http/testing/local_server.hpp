#pragma once

// A real nsl HTTP server on a free loopback port for unit tests: the given routes, the
// production pipeline and server, and two IO threads.
#include <cstdio>
#include <functional>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "nsl/http/health.hpp"
#include "nsl/http/pipeline.hpp"
#include "nsl/http/router.hpp"
#include "nsl/http/server.hpp"
#include "nsl/http/tls.hpp"

namespace nsl::http::testing {

using namespace std::chrono_literals;

class LocalServer {
 public:
  /// With `tls`, the server answers HTTPS only, with that certificate (kept alive by the caller).
  explicit LocalServer(const std::function<void(Router&, Health&)>& routes, PipelineSettings settings = {},
                       ServerOptions options = {}, const TlsCertificate* tls = nullptr)
      : devnull_(std::fopen("/dev/null", "w"), &std::fclose),
        sink_(log::Sink::Options{devnull_.get(), 1u << 20}),
        health_({200ms, "test", "Test"}) {
    routes(router_, health_);
    health_.register_routes(router_);
    pipeline_ = std::make_unique<Pipeline>(router_, std::move(settings), registry_, sink_);
    server_ = std::make_unique<Server>(ioc_, options, *pipeline_, registry_, sink_);
    if (tls) server_->set_tls(tls);
    tls_ = tls != nullptr;
    server_->listen({{"127.0.0.1", 0, "test", tls_}});
    port_ = server_->local_endpoints().at(0).port();
    server_->start();
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { ioc_.run(); });
  }
  ~LocalServer() {
    try {
      if (!stopped_) (void)shutdown(1s);
    } catch (...) {
      // A test that failed may leave the server in any state; the threads still end below.
    }
    for (auto& t : threads_) t.join();
  }
  LocalServer(const LocalServer&) = delete;
  LocalServer& operator=(const LocalServer&) = delete;

  std::size_t shutdown(std::chrono::milliseconds grace) {
    std::promise<std::size_t> done;
    asio::co_spawn(ioc_, server_->shutdown(grace), [&](std::exception_ptr, std::size_t forced) {
      done.set_value(forced);
      ioc_.stop();
    });
    stopped_ = true;
    return done.get_future().get();
  }

  std::uint16_t port() const { return port_; }
  std::string url(const std::string& path, const std::string& host = "127.0.0.1") const {
    return (tls_ ? "https://" : "http://") + host + ":" + std::to_string(port_) + path;
  }
  Server& server() { return *server_; }
  metrics::Registry& registry() { return registry_; }
  log::Sink& sink() { return sink_; }
  // Waits (bounded) until `n` requests are inside the pipeline, instead of sleeping and hoping.
  bool wait_in_flight(int n) {
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (pipeline_->in_flight() < n && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
    return pipeline_->in_flight() >= n;
  }

 private:
  // Declared before the sink so that it is closed only after the sink's writer thread has ended.
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> devnull_;
  log::Sink sink_;
  metrics::Registry registry_;
  Router router_;
  Health health_;
  asio::io_context ioc_;
  std::unique_ptr<Pipeline> pipeline_;
  std::unique_ptr<Server> server_;
  std::vector<std::thread> threads_;
  bool tls_ = false;
  std::uint16_t port_ = 0;
  bool stopped_ = false;
};

}  // namespace nsl::http::testing
