#pragma once

// The loop of the codec test tools: one JSON object per line in, one per line out, the
// handler's exceptions reported as {"error": "..."} so one bad case never ends the run.
#include <functional>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

namespace nsl::testing {

inline int run_json_lines(const std::function<nlohmann::json(const nlohmann::json&)>& handle) {
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    try {
      std::cout << handle(nlohmann::json::parse(line)).dump() << "\n";
    } catch (const std::exception& e) {
      std::cout << nlohmann::json{{"error", e.what()}}.dump() << "\n";
    }
  }
  return 0;
}

}  // namespace nsl::testing
