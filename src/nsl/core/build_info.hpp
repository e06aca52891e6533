#pragma once

namespace nsl::build_info {
/// Version of this build, from the top-level project() call.
extern const char* const kVersion;
/// CMake build type the binary was compiled with.
extern const char* const kBuildType;
/// Compiler identification.
extern const char* const kCompiler;
}  // namespace nsl::build_info
