#pragma once

#include <charconv>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "nsl/core/strings.hpp"

namespace nsl::config {

/// Problems found while reading a configuration, each naming its key and where it came from.
struct Errors {
  std::vector<std::string> list;
  const std::map<std::string, std::string>* origins = nullptr;
  void add(const std::string& path, const std::string& message) {
    std::string line = path + ": " + message;
    if (origins) {
      if (auto it = origins->find(to_lower(path)); it != origins->end()) line += " (from " + it->second + ")";
    }
    list.push_back(std::move(line));
  }
};

inline std::string describe(const nlohmann::json& v) {
  auto s = v.dump();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

/// Walks one JSON object against the expected schema: every key it reads is marked, and finish()
/// reports the keys nobody read as unknown.
class Reader {
 public:
  Reader(const nlohmann::json* node, std::string path, Errors& errors) : node_(node), path_(std::move(path)), errors_(errors) {
    if (node_ && !node_->is_object()) {
      errors_.add(path_, "must be an object, got " + describe(*node_));
      node_ = nullptr;
    }
  }

  bool present() const { return node_ != nullptr; }

  Reader section(std::string_view key) { return Reader(find(key), child(key), errors_); }

  void string(std::string_view key, std::string& out) {
    const nlohmann::json* v = find(key);
    if (!v || v->is_null()) return;
    if (!v->is_string()) return errors_.add(child(key), "must be a string, got " + describe(*v));
    out = v->get<std::string>();
  }

  void boolean(std::string_view key, bool& out) {
    const nlohmann::json* v = find(key);
    if (!v || v->is_null()) return;
    if (v->is_boolean()) {
      out = v->get<bool>();
      return;
    }
    if (v->is_string()) {
      const auto s = to_lower(trim(v->get<std::string>()));
      if (s == "true") {
        out = true;
        return;
      }
      if (s == "false") {
        out = false;
        return;
      }
    }
    errors_.add(child(key), "must be true or false, got " + describe(*v));
  }

  template <class Int>
  void integer(std::string_view key, Int& out, std::int64_t min, std::int64_t max) {
    const nlohmann::json* v = find(key);
    if (!v || v->is_null()) return;
    std::int64_t value = 0;
    bool ok = false;
    if (v->is_number_integer()) {
      value = v->get<std::int64_t>();
      ok = true;
    } else if (v->is_number_unsigned()) {
      const auto u = v->get<std::uint64_t>();
      ok = u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
      value = static_cast<std::int64_t>(u);
    } else if (v->is_string()) {
      const auto s = trim(v->get_ref<const std::string&>());
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
      ok = ec == std::errc{} && p == s.data() + s.size() && !s.empty();
    }
    if (!ok) {
      return errors_.add(child(key), "must be an integer between " + std::to_string(min) + " and " + std::to_string(max) +
                                         ", got " + describe(*v));
    }
    if (value < min || value > max) {
      return errors_.add(child(key), "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " +
                                         std::to_string(value));
    }
    out = static_cast<Int>(value);
  }

  // A list given either as a JSON array of strings or as one comma-separated string
  // (the only way to write a list in an environment variable).
  void string_list(std::string_view key, std::vector<std::string>& out) {
    const nlohmann::json* v = find(key);
    if (!v || v->is_null()) return;
    std::vector<std::string> items;
    if (v->is_string()) {
      for (auto part : split(v->get_ref<const std::string&>(), ",")) {
        if (!trim(part).empty()) items.emplace_back(trim(part));
      }
    } else if (v->is_array()) {
      for (const auto& e : *v) {
        if (!e.is_string()) return errors_.add(child(key), "must be a list of strings, got " + describe(*v));
        items.push_back(e.get<std::string>());
      }
    } else {
      return errors_.add(child(key), "must be a list of strings, got " + describe(*v));
    }
    out = std::move(items);
  }

  // Keys of this object not consumed by name (for open-ended maps such as LogLevel).
  template <class Fn>
  void each_remaining(Fn&& fn) {
    if (!node_) return;
    for (auto it = node_->begin(); it != node_->end(); ++it) {
      if (!is_consumed(it.key())) {
        consumed_.push_back(it.key());
        fn(it.key(), it.value(), child(it.key()));
      }
    }
  }

  void finish() {
    if (!node_) return;
    for (auto it = node_->begin(); it != node_->end(); ++it) {
      if (!is_consumed(it.key())) errors_.add(child(it.key()), "unknown configuration key");
    }
  }

  std::string child(std::string_view key) const { return path_.empty() ? std::string(key) : path_ + ":" + std::string(key); }
  Errors& errors() { return errors_; }
  const nlohmann::json* find(std::string_view key) {
    if (!node_) return nullptr;
    for (auto it = node_->begin(); it != node_->end(); ++it) {
      if (iequals(it.key(), key)) {
        consumed_.push_back(it.key());
        return &it.value();
      }
    }
    return nullptr;
  }

 private:
  bool is_consumed(const std::string& key) const {
    for (const auto& c : consumed_) {
      if (c == key) return true;
    }
    return false;
  }

  const nlohmann::json* node_;
  std::string path_;
  Errors& errors_;
  std::vector<std::string> consumed_;
};

}  // namespace nsl::config
