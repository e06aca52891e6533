#include "nsl/enclave/protocol.hpp"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace nsl::enclave {
namespace {

bool write_all(int fd, const char* data, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

bool read_all(int fd, char* data, std::size_t n) {
  while (n > 0) {
    const ssize_t r = ::recv(fd, data, n, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    data += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

}  // namespace

namespace {

void put_uint(std::string& out, std::uint32_t v, std::size_t bytes) {
  for (std::size_t i = bytes; i-- > 0;) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}

void put_field(std::string& out, std::string_view v, std::size_t length_bytes, const char* name) {
  const std::uint64_t max = (std::uint64_t{1} << (8 * length_bytes)) - 1;
  if (v.size() > max) throw std::invalid_argument(std::string(name) + " is too long for an items frame");
  put_uint(out, static_cast<std::uint32_t>(v.size()), length_bytes);
  out += v;
}

}  // namespace

std::string encode_sign_item(const SignItem& item) {
  std::string out;
  out.reserve(1 + 1 + 2 + item.key_ref.size() + 2 + item.sealed.size() + 4 + item.payload.size());
  out += 'S';
  out += static_cast<char>(item.kind);
  put_field(out, item.key_ref, 2, "key_ref");
  put_field(out, item.sealed, 2, "sealed");
  put_field(out, item.payload, 4, "payload");
  return out;
}

std::string encode_data_item(char type, const DataItem& item) {
  if (type != 'E' && type != 'D') throw std::invalid_argument("a data item is 'E' or 'D'");
  std::string out;
  out.reserve(1 + 2 + item.tenant.size() + 2 + item.sealed_key.size() + 2 + item.aad.size() + 4 + item.data.size());
  out += type;
  put_field(out, item.tenant, 2, "tenant");
  put_field(out, item.sealed_key, 2, "sealed_key");
  put_field(out, item.aad, 2, "aad");
  put_field(out, item.data, 4, "data");
  return out;
}

ItemsWriter::ItemsWriter(std::size_t reserve) {
  out_.reserve(reserve + 3);
  out_ += static_cast<char>(kItemsFrame);
  out_ += std::string(2, '\0');  // the count, written by finish()
}

ItemsWriter& ItemsWriter::json(std::string_view text) {
  out_ += 'J';
  put_field(out_, text, 4, "a JSON item");
  ++count_;
  return *this;
}

ItemsWriter& ItemsWriter::signature(std::string_view signature, int recovery_id) {
  out_ += 's';
  out_ += static_cast<char>(recovery_id < 0 ? 0xFF : recovery_id);
  put_field(out_, signature, 1, "signature");
  ++count_;
  return *this;
}

ItemsWriter& ItemsWriter::bytes(std::string_view bytes) {
  out_ += 'x';
  put_field(out_, bytes, 4, "bytes");
  ++count_;
  return *this;
}

ItemsWriter& ItemsWriter::encoded(std::string_view item) {
  out_ += item;
  ++count_;
  return *this;
}

std::string ItemsWriter::finish() {
  if (count_ > kMaxItems) throw std::invalid_argument("more than " + std::to_string(kMaxItems) + " items in one frame");
  out_[1] = static_cast<char>(count_ >> 8);
  out_[2] = static_cast<char>(count_ & 0xFF);
  return std::move(out_);
}

ItemsReader::ItemsReader(std::string_view frame) : rest_(frame) {
  if (take(1)[0] != static_cast<char>(kItemsFrame)) throw std::invalid_argument("not an items frame");
  count_ = uint(2);
  if (count_ > kMaxItems) throw std::invalid_argument("more than " + std::to_string(kMaxItems) + " items in one frame");
}

std::string_view ItemsReader::take(std::size_t n) {
  if (rest_.size() < n) throw std::invalid_argument("an items frame is cut short");
  const auto v = rest_.substr(0, n);
  rest_.remove_prefix(n);
  return v;
}

std::uint32_t ItemsReader::uint(std::size_t bytes) {
  const auto b = take(bytes);
  std::uint32_t v = 0;
  for (const char c : b) v = (v << 8) | static_cast<unsigned char>(c);
  return v;
}

bool ItemsReader::done() const { return read_ == count_; }

Item ItemsReader::next() {
  if (read_ == count_) throw std::invalid_argument("no more items in the frame");
  Item item;
  item.type = take(1)[0];
  switch (item.type) {
    case 'J':
      item.json = take(uint(4));
      break;
    case 'S':
      item.sign.kind = static_cast<std::uint8_t>(uint(1));
      item.sign.key_ref = take(uint(2));
      item.sign.sealed = take(uint(2));
      item.sign.payload = take(uint(4));
      break;
    case 's': {
      const auto id = uint(1);
      item.recovery_id = id == 0xFF ? -1 : static_cast<int>(id);
      item.bytes = take(uint(1));
      break;
    }
    case 'E':
    case 'D':
      item.data.tenant = take(uint(2));
      item.data.sealed_key = take(uint(2));
      item.data.aad = take(uint(2));
      item.data.data = take(uint(4));
      break;
    case 'x':
      item.bytes = take(uint(4));
      break;
    default:
      throw std::invalid_argument("an items frame holds an item of unknown type");
  }
  if (++read_ == count_ && !rest_.empty()) throw std::invalid_argument("bytes follow the last item of a frame");
  return item;
}

bool write_frame(int fd, std::string_view body) {
  if (body.size() > kMaxFrameBytes) return false;
  const auto n = static_cast<std::uint32_t>(body.size());
  const char header[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                          static_cast<char>(n)};
  // One send for small frames: header and body together.
  if (body.size() <= 4096) {
    char buf[4100];
    std::memcpy(buf, header, 4);
    std::memcpy(buf + 4, body.data(), body.size());
    return write_all(fd, buf, body.size() + 4);
  }
  return write_all(fd, header, 4) && write_all(fd, body.data(), body.size());
}

std::optional<std::string> read_frame(int fd, std::uint32_t max) {
  std::optional<std::string> out;
  unsigned char header[4];
  if (!read_all(fd, reinterpret_cast<char*>(header), 4)) return out;
  const std::uint32_t n =
      std::uint32_t{header[0]} << 24 | std::uint32_t{header[1]} << 16 | std::uint32_t{header[2]} << 8 | std::uint32_t{header[3]};
  if (n > max) return out;
  std::string body(n, '\0');
  if (n > 0 && !read_all(fd, body.data(), n)) return out;
  out = std::move(body);
  return out;
}

void set_timeouts(int fd, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

int connect_unix(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const int e = errno;
    ::close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

std::string hello_request(crypto::ByteView token) {
  const nlohmann::json hello{{"op", "hello"}, {"token", crypto::to_hex(token)}, {"version", kProtocolVersion}};
  return hello.dump();
}

nlohmann::json wrapped_to_json(const crypto::key_wrap::Wrapped& w) {
  return {{"format", crypto::key_wrap::kFormat},      {"kind", w.kind},
          {"recipient", crypto::to_hex(w.recipient)}, {"ephemeral_public_key", crypto::to_hex(w.ephemeral)},
          {"nonce", crypto::to_hex(w.nonce)},         {"ciphertext", crypto::to_hex(w.ciphertext)}};
}

namespace {

[[noreturn]] void refuse(const std::string& message) { throw EnclaveError("bad_request", message); }

crypto::Bytes wrapped_hex(const nlohmann::json& w, const char* name, std::size_t max_bytes) {
  const auto it = w.find(name);
  if (it == w.end() || !it->is_string()) refuse(std::string("\"") + name + "\" must be a string");
  const auto& s = it->get_ref<const std::string&>();
  if (s.size() > max_bytes * 2) {
    refuse(std::string("\"") + name + "\" is longer than " + std::to_string(max_bytes * 2) + " characters");
  }
  auto b = crypto::from_hex(s);
  if (!b) refuse(std::string("\"") + name + "\" must be hex");
  return std::move(*b);
}

}  // namespace

crypto::key_wrap::Wrapped wrapped_from_json(const nlohmann::json& w, std::string kind) {
  if (!w.is_object()) refuse("\"wrapped\" must be an object");
  const auto format = w.find("format");
  if (format == w.end() || !format->is_string() || format->get_ref<const std::string&>() != crypto::key_wrap::kFormat) {
    refuse(std::string("\"wrapped.format\" must be ") + crypto::key_wrap::kFormat);
  }
  crypto::key_wrap::Wrapped out;
  out.kind = std::move(kind);
  out.recipient = wrapped_hex(w, "recipient", 65);
  out.ephemeral = wrapped_hex(w, "ephemeral_public_key", 65);
  out.nonce = wrapped_hex(w, "nonce", 12);
  out.ciphertext = wrapped_hex(w, "ciphertext", 32 + 16);
  return out;
}

}  // namespace nsl::enclave
