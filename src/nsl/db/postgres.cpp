#include "nsl/db/postgres.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <random>
#include <cstdio>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "nsl/core/strings.hpp"

namespace nsl::db {
namespace {

using Clock = std::chrono::steady_clock;

// Type OIDs from pg_type that are read as something other than text.
constexpr Oid kBool = 16, kBytea = 17, kInt8 = 20, kInt2 = 21, kInt4 = 23, kOid = 26, kFloat4 = 700, kFloat8 = 701,
              kTimestamp = 1114, kTimestampTz = 1184;

int parse_int(std::string_view key, std::string_view value, int lo, int hi) {
  int out = 0;
  const auto v = trim(value);
  const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size() || out < lo || out > hi) {
    throw std::invalid_argument("connection string: " + std::string(key) + " must be a whole number from " + std::to_string(lo) +
                                " to " + std::to_string(hi));
  }
  return out;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool identifier(std::string_view s) {
  if (s.empty() || s.size() > 63 || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

void set_option(PgOptions& o, std::string key, std::string_view value) {
  key = to_lower(key);
  key.erase(std::remove(key.begin(), key.end(), ' '), key.end());
  key.erase(std::remove(key.begin(), key.end(), '_'), key.end());
  const std::string v(trim(value));
  if (key == "host" || key == "server")
    o.host = v;
  else if (key == "port")
    o.port = parse_int("Port", v, 1, 65535);
  else if (key == "database" || key == "dbname" || key == "initialcatalog")
    o.database = v;
  else if (key == "username" || key == "user" || key == "userid" || key == "uid")
    o.username = v;
  else if (key == "password" || key == "pwd")
    o.password = std::string(value);
  else if (key == "minimumpoolsize" || key == "minpoolsize")
    o.min_pool = parse_int("Minimum Pool Size", v, 0, 1024);
  else if (key == "maximumpoolsize" || key == "maxpoolsize")
    o.max_pool = parse_int("Maximum Pool Size", v, 1, 1024);
  else if (key == "connectionlifetime" || key == "connectionidlelifetime")
    o.connection_lifetime_s = parse_int("Connection Lifetime", v, 0, 86400 * 7);
  else if (key == "timeout" || key == "connecttimeout")
    o.timeout_s = parse_int("Timeout", v, 1, 1024);
  else if (key == "commandtimeout" || key == "statementtimeout")
    o.command_timeout_s = parse_int("Command Timeout", v, 0, 86400);
  else if (key == "searchpath" || key == "schema")
    o.search_path = v;
  else if (key == "sslmode")
    o.ssl_mode = to_lower(v);
  else if (key == "applicationname")
    o.application_name = v;
  else if (key == "pooling" || key == "includeerrordetail" || key == "trustservercertificate") {
    // Accepted for compatibility with the guide's Npgsql strings; the pool is always on.
  } else {
    throw std::invalid_argument("connection string: unknown key '" + key + "'");
  }
}

void validate(const PgOptions& o) {
  if (o.host.empty()) throw std::invalid_argument("connection string: Host is required");
  if (o.database.empty()) throw std::invalid_argument("connection string: Database is required");
  if (o.username.empty()) throw std::invalid_argument("connection string: Username is required");
  if (!identifier(o.search_path)) {
    throw std::invalid_argument("connection string: Search Path must be one schema name (letters, digits, _)");
  }
  if (o.min_pool > o.max_pool) {
    throw std::invalid_argument("connection string: Minimum Pool Size must not exceed Maximum Pool Size");
  }
  static const char* const kSsl[] = {"", "disable", "allow", "prefer", "require", "verify-ca", "verify-full"};
  if (std::find(std::begin(kSsl), std::end(kSsl), o.ssl_mode) == std::end(kSsl)) {
    throw std::invalid_argument("connection string: SSL Mode must be disable, allow, prefer, require, verify-ca or verify-full");
  }
}

PgOptions parse_uri(std::string_view text) {
  PgOptions o;
  auto rest = text.substr(text.find("://") + 3);
  std::string_view query;
  if (const auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::string_view path;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    path = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    const auto userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const auto colon = userinfo.find(':');
    o.username = percent_decode(userinfo.substr(0, colon));
    if (colon != std::string_view::npos) o.password = percent_decode(userinfo.substr(colon + 1));
  }
  if (!rest.empty()) {
    std::string_view host = rest;
    if (const auto colon = rest.rfind(':'); colon != std::string_view::npos && rest.find(']') == std::string_view::npos) {
      host = rest.substr(0, colon);
      o.port = parse_int("port", rest.substr(colon + 1), 1, 65535);
    }
    o.host = percent_decode(host);
  }
  o.database = percent_decode(path);
  for (auto item : split(query, "&")) {
    if (item.empty()) continue;
    const auto eq = item.find('=');
    if (eq == std::string_view::npos)
      throw std::invalid_argument("connection string: option '" + std::string(item) + "' has no value");
    set_option(o, percent_decode(item.substr(0, eq)), percent_decode(item.substr(eq + 1)));
  }
  return o;
}

/// Text as PostgreSQL prints a timestamp (DateStyle ISO, TimeZone UTC) → RFC 3339 with
/// milliseconds, the form SQLite rows hold, so repositories read the same on both.
std::string rfc3339(std::string_view pg) {
  // "2026-11-29 06:30:00.123456+00" or "2026-11-29 06:30:00+00" or without zone.
  if (pg.size() < 19 || pg[10] != ' ') return std::string(pg);
  std::string out(pg.substr(0, 19));
  out[10] = 'T';
  std::string frac = "000";
  std::size_t i = 19;
  if (i < pg.size() && pg[i] == '.') {
    ++i;
    std::size_t n = 0;
    while (i < pg.size() && std::isdigit(static_cast<unsigned char>(pg[i]))) {
      if (n < 3) frac[n] = pg[i];
      ++n;
      ++i;
    }
  }
  out += "." + frac + "Z";
  return out;
}

std::string hex_decode_bytea(std::string_view s) {
  std::string out;
  if (s.size() < 2 || s[0] != '\\' || s[1] != 'x') return std::string(s);
  out.reserve((s.size() - 2) / 2);
  auto nib = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  for (std::size_t i = 2; i + 1 < s.size(); i += 2) out.push_back(static_cast<char>(nib(s[i]) << 4 | nib(s[i + 1])));
  return out;
}

DatabaseError::Kind kind_of_state(std::string_view state) {
  using K = DatabaseError::Kind;
  if (state == "23505") return K::unique_violation;
  if (state.starts_with("23") || state.starts_with("22")) return K::constraint;
  if (state == "40001" || state == "40P01" || state == "55P03") return K::busy;
  if (state == "57014") return K::timeout;
  if (state.starts_with("08") || state == "57P01" || state == "57P02" || state == "57P03" || state.starts_with("53"))
    return K::unavailable;
  if (state.starts_with("42") || state.starts_with("3F")) return K::schema;
  return K::other;
}

bool read_only(std::string_view sql) {
  const auto t = to_lower(trim(sql).substr(0, 8));
  return t.starts_with("select") || t.starts_with("show");
}

struct ResultDeleter {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

class PgConnection final : public Connection {
 public:
  explicit PgConnection(PGconn* conn) : conn_(conn), opened_(Clock::now()) {}
  ~PgConnection() override { PQfinish(conn_); }

  Dialect dialect() const noexcept override { return Dialect::postgres; }

  void exec_script(std::string_view sql) override {
    ResultPtr r(PQexec(conn_, std::string(sql).c_str()));
    check(r.get(), in_tx_ ? Outcome::rolled_back : Outcome::unknown);
  }

  Result query(std::string_view sql, const std::vector<Value>& params) override {
    const std::string& name = prepare(sql);
    Params p(params);
    ResultPtr r(PQexecPrepared(conn_, name.c_str(), static_cast<int>(params.size()), p.values.data(), p.lengths.data(),
                               p.formats.data(), 0));
    check(r.get(), in_tx_ || read_only(sql) ? Outcome::rolled_back : Outcome::unknown);
    return convert(r.get());
  }

  void begin_write() override {
    simple("BEGIN ISOLATION LEVEL SERIALIZABLE", Outcome::rolled_back);
    in_tx_ = true;
  }
  void commit() override {
    simple("COMMIT", Outcome::unknown);
    in_tx_ = false;
  }
  bool in_transaction() const noexcept override { return in_tx_; }
  void rollback() override {
    in_tx_ = false;
    if (PQstatus(conn_) != CONNECTION_OK) return;
    ResultPtr r(PQexec(conn_, "ROLLBACK"));
  }

  void execute_all(const std::vector<Statement>& statements) override {
    if (statements.size() < 2 || in_tx_) {
      Connection::execute_all(statements);
      return;
    }
    std::vector<GroupCommit::Item> items(statements.size());
    std::vector<GroupCommit::Item*> batch;
    batch.reserve(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
      items[i].statement = &statements[i];
      batch.push_back(&items[i]);
    }
    // A failure rolls everything back; running them again one by one names the failing one.
    if (!pipeline(batch, true)) Connection::execute_all(statements);
  }

  void insert_rows(std::string_view table, const std::vector<std::string>& columns,
                   const std::vector<std::vector<Value>>& rows) override {
    if (rows.empty()) return;
    for (const auto& row : rows) {
      if (row.size() != columns.size()) throw std::invalid_argument("insert_rows: a row does not match the columns");
    }
    // COPY is one statement: atomic on its own, or part of the transaction already open.
    const auto outcome = in_tx_ ? Outcome::rolled_back : Outcome::unknown;
    ResultPtr start(PQexec(conn_, ("COPY " + std::string(table) + " (" + join(columns, ", ") + ") FROM STDIN").c_str()));
    if (!start || PQresultStatus(start.get()) != PGRES_COPY_IN) {
      check(start.get(), Outcome::rolled_back);
      throw DatabaseError(DatabaseError::Kind::other, "PostgreSQL did not start the COPY");
    }
    std::string chunk;
    chunk.reserve(kCopyChunk + 4096);
    auto send = [&] {
      if (PQputCopyData(conn_, chunk.data(), static_cast<int>(chunk.size())) != 1) fail_connection(outcome);
      chunk.clear();
    };
    for (const auto& row : rows) {
      for (std::size_t c = 0; c < row.size(); ++c) {
        if (c) chunk += '\t';
        append_copy_text(chunk, row[c]);
      }
      chunk += '\n';
      if (chunk.size() >= kCopyChunk) send();
    }
    if (!chunk.empty()) send();
    if (PQputCopyEnd(conn_, nullptr) != 1) fail_connection(outcome);
    ResultPtr done(PQgetResult(conn_));
    while (ResultPtr more{PQgetResult(conn_)}) {}
    check(done.get(), outcome);
  }

  /// Group commit: every statement in one transaction, sent in one pipeline. If any fails, the
  /// whole transaction is rolled back and each statement runs again on its own, so that only the
  /// failing one reports its error.
  void execute_batch(std::vector<GroupCommit::Item*>& batch) {
    if (batch.size() == 1) {
      run_alone(*batch[0]);
      return;
    }
    bool failed = false;
    try {
      failed = !pipeline(batch, false);
    } catch (const DatabaseError&) {
      // The connection broke mid-pipeline: nobody can know whether the commit happened.
      for (auto* item : batch) item->error = std::current_exception();
      return;
    }
    if (!failed) return;
    for (auto* item : batch) {
      item->result.reset();
      item->error = nullptr;
      run_alone(*item);
    }
  }

  bool ok() const noexcept { return PQstatus(conn_) == CONNECTION_OK && !broken_; }
  /// Whether an idle connection is still usable: the server sends nothing unasked to an idle
  /// session except a termination notice, so anything readable (or EOF) means it is gone — after
  /// a server restart every pooled connection is, and is dropped here before a statement is sent.
  bool alive() noexcept {
    if (!ok()) return false;
    pollfd p{PQsocket(conn_), POLLIN, 0};
    if (p.fd < 0) return false;
    if (::poll(&p, 1, 0) == 0) return true;
    broken_ = true;
    return false;
  }
  /// Whether the last failure left the outcome of a write unknown (lost during a commit).
  bool ambiguous() const noexcept { return ambiguous_; }
  void clear_failure() noexcept { ambiguous_ = false; }
  Clock::time_point opened() const noexcept { return opened_; }

 private:
  enum class Outcome { rolled_back, unknown };

  // A double as text that reads back as the same double.
  static std::string real_text(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
  }

  // Parameters in libpq's form. Text parameters point at the statement's own strings (libpq reads
  // them up to their terminating NUL: no copy of a large value); numbers are formatted into `text`.
  struct Params {
    explicit Params(const std::vector<Value>& params) : Params(std::vector<const std::vector<Value>*>{&params}) {}
    explicit Params(const std::vector<const std::vector<Value>*>& lists) {
      std::size_t total = 0;
      for (const auto* l : lists) total += l->size();
      values.reserve(total);
      lengths.reserve(total);
      formats.reserve(total);
      text.reserve(total);  // never reallocated: values point into its strings
      for (const auto* l : lists) {
        for (const Value& v : *l) {
          switch (v.index()) {
            case 0:
              values.push_back(nullptr);
              lengths.push_back(0);
              formats.push_back(0);
              continue;
            case 1:
              text.push_back(std::to_string(std::get<std::int64_t>(v)));
              break;
            case 2:
              text.push_back(real_text(std::get<double>(v)));
              break;
            case 3: {
              const auto& t = std::get<std::string>(v);
              values.push_back(t.c_str());
              lengths.push_back(static_cast<int>(t.size()));
              formats.push_back(0);
              continue;
            }
            case 4: {
              const auto& b = std::get<Blob>(v).bytes;
              values.push_back(b.data());
              lengths.push_back(static_cast<int>(b.size()));
              formats.push_back(1);
              continue;
            }
          }
          values.push_back(text.back().c_str());
          lengths.push_back(static_cast<int>(text.back().size()));
          formats.push_back(0);
        }
      }
    }
    std::vector<std::string> text;
    std::vector<const char*> values;
    std::vector<int> lengths;
    std::vector<int> formats;
  };

  static constexpr std::size_t kCopyChunk = 64 * 1024;

  // One value in COPY's text format: \N for NULL; backslash, tab, newline and carriage return
  // escaped; bytea as its hex form (whose own backslash is escaped too).
  static void append_copy_text(std::string& out, const Value& v) {
    static constexpr char kHex[] = "0123456789abcdef";
    switch (v.index()) {
      case 0:
        out += "\\N";
        return;
      case 1:
        out += std::to_string(std::get<std::int64_t>(v));
        return;
      case 2:
        out += real_text(std::get<double>(v));
        return;
      case 3: {
        const std::string_view t = std::get<std::string>(v);
        std::size_t from = 0;  // start of the run not yet copied
        for (std::size_t i = 0; i < t.size(); ++i) {
          const auto u = static_cast<unsigned char>(t[i]);
          if ((u >= 0x20 && u != '\\') || (u != '\t' && u != '\n' && u != '\r' && u != '\\')) continue;
          out.append(t.substr(from, i - from));
          out += '\\';
          out += u == '\t' ? 't' : u == '\n' ? 'n' : u == '\r' ? 'r' : '\\';
          from = i + 1;
        }
        out.append(t.substr(from));
        return;
      }
      case 4:
        out += "\\\\x";
        for (const char c : std::get<Blob>(v).bytes) {
          const auto u = static_cast<unsigned char>(c);
          out += kHex[u >> 4];
          out += kHex[u & 0xF];
        }
        return;
    }
  }

  void run_alone(GroupCommit::Item& item) {
    try {
      item.result = query(item.statement->sql, item.statement->params);
    } catch (...) {
      item.error = std::current_exception();
    }
  }

  // One statement of a group-commit pipeline: one write, or the writes of one RowShape as one
  // multi-row INSERT.
  struct Unit {
    std::string sql;
    std::vector<GroupCommit::Item*> items;
    const RowShape* shape = nullptr;  // set when the items share the statement
  };

  // The key of an item's row (or of a returned row's first columns) as one string.
  static std::string key_text(const std::vector<Value>& values, const std::vector<std::size_t>& positions) {
    std::string out;
    for (const auto p : positions) {
      const Value& v = values.at(p);
      switch (v.index()) {
        case 0:
          out += "\x01N";
          break;
        case 1:
          out += std::to_string(std::get<std::int64_t>(v));
          break;
        case 2:
          out += real_text(std::get<double>(v));
          break;
        case 3:
          out += std::get<std::string>(v);
          break;
        case 4:
          out += std::get<Blob>(v).bytes;
          break;
      }
      out += '\0';
    }
    return out;
  }

  // `row` with each placeholder $n written as $(n + offset).
  static void append_renumbered(std::string& out, std::string_view row, std::size_t offset) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      out += row[i];
      if (row[i] != '$') continue;
      std::size_t n = 0, end = i + 1;
      while (end < row.size() && row[end] >= '0' && row[end] <= '9') n = n * 10 + static_cast<std::size_t>(row[end++] - '0');
      if (end == i + 1) continue;
      out += std::to_string(n + offset);
      i = end - 1;
    }
  }

  // Writes of one shape, in rounds: the n-th write of a key goes to the n-th round.
  struct Group {
    const RowShape* shape;
    std::size_t width;  // parameters per row
    std::vector<std::vector<GroupCommit::Item*>> rounds;
    std::unordered_map<std::string, std::size_t> seen;
  };

  // A round as multi-row INSERTs of 2, 4, … 256 rows (few sizes: few prepared statements), in order.
  static void emit(std::vector<Unit>& units, const Group& g) {
    const std::size_t most = std::min<std::size_t>(256, 65535 / std::max<std::size_t>(1, g.width));  // PostgreSQL's limit
    for (const auto& items : g.rounds) {
      for (std::size_t at = 0; at < items.size();) {
        std::size_t n = 1;
        while (n * 2 <= std::min(items.size() - at, most)) n *= 2;
        if (n == 1) {
          units.push_back({items[at]->statement->sql, {items[at]}});
          ++at;
          continue;
        }
        Unit u{g.shape->head, {}, g.shape};
        for (std::size_t k = 0; k < n; ++k, ++at) {
          if (k) u.sql += ", ";
          append_renumbered(u.sql, g.shape->row, k * g.width);
          u.items.push_back(items[at]);
        }
        u.sql += g.shape->tail;
        units.push_back(std::move(u));
      }
    }
  }

  // The batch as statements: writes of one shape (and one number of parameters) share multi-row
  // INSERTs, never two rows of one key in one statement; every other write is a statement of its
  // own. The writes of a group commit are concurrent, so any order is theirs, and all of one shape
  // are gathered; with `keep_order` (execute_all: a caller's list, in its order) only neighbours are.
  static std::vector<Unit> plan(const std::vector<GroupCommit::Item*>& batch, bool keep_order) {
    std::vector<Unit> units;
    std::vector<Group> groups;
    for (auto* item : batch) {
      const auto* shape = item->statement->shape.get();
      const auto width = item->statement->params.size();
      auto g = std::find_if(groups.begin(), groups.end(), [&](const Group& x) { return x.shape == shape && x.width == width; });
      auto key = shape ? key_text(item->statement->params, shape->key) : std::string();
      if (keep_order && !groups.empty() && (g == groups.end() || g->seen.count(key))) {
        emit(units, groups.back());
        groups.clear();
        g = groups.end();
      }
      if (!shape) {
        units.push_back({item->statement->sql, {item}});
        continue;
      }
      if (g == groups.end()) g = groups.insert(groups.end(), Group{shape, width, {}, {}});
      const auto round = g->seen[std::move(key)]++;
      if (round == g->rounds.size()) g->rounds.emplace_back();
      g->rounds[round].push_back(item);
    }
    for (const auto& g : groups) emit(units, g);
    return units;
  }

  // Gives each write of a unit its result: its own row of a shared statement's (matched by key).
  static void distribute(Unit& u, Result r) {
    if (!u.shape) {
      u.items[0]->result = std::move(r);
      return;
    }
    std::unordered_map<std::string, GroupCommit::Item*> by_key;
    for (auto* item : u.items) by_key.emplace(key_text(item->statement->params, u.shape->key), item);
    std::vector<std::size_t> first(u.shape->key.size());
    for (std::size_t k = 0; k < first.size(); ++k) first[k] = k;
    for (auto& row : r.rows) {
      if (row.size() < first.size()) break;
      const auto it = by_key.find(key_text(row, first));
      if (it == by_key.end() || it->second->result) continue;
      it->second->result = Result{r.columns, {std::move(row)}, 1};
    }
    for (auto* item : u.items) {
      if (!item->result) item->result = Result{r.columns, {}, 0};
    }
  }

  // Returns false when a statement failed (the transaction is then rolled back).
  bool pipeline(std::vector<GroupCommit::Item*>& batch, bool keep_order) {
    auto units = plan(batch, keep_order);
    // Prepared first: preparing may clear the cache of prepared statements (at 512), which then
    // happens before any name is used, and at most once.
    std::vector<std::string> names(units.size());
    for (int pass = 0; pass < 2; ++pass) {
      const auto clears = clears_;
      for (std::size_t i = 0; i < units.size(); ++i) names[i] = prepare(units[i].sql);
      if (clears == clears_) break;
    }
    if (PQenterPipelineMode(conn_) != 1) fail_connection(Outcome::rolled_back);
    struct Exit {
      PGconn* c;
      ~Exit() { PQexitPipelineMode(c); }
    } exit_pipeline{conn_};
    bool sent = PQsendQueryParams(conn_, "BEGIN", 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
    for (std::size_t i = 0; i < units.size() && sent; ++i) {
      std::vector<const std::vector<Value>*> lists;
      lists.reserve(units[i].items.size());
      for (const auto* item : units[i].items) lists.push_back(&item->statement->params);
      const Params p(lists);
      sent = PQsendQueryPrepared(conn_, names[i].c_str(), static_cast<int>(p.values.size()), p.values.data(), p.lengths.data(),
                                 p.formats.data(), 0) == 1;
    }
    sent = sent && PQsendQueryParams(conn_, "COMMIT", 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
    sent = sent && PQpipelineSync(conn_) == 1;
    if (!sent) fail_connection(Outcome::unknown);
    // Results arrive in order: BEGIN, each statement, COMMIT, then the sync marker.
    bool all_ok = true;
    std::vector<std::optional<Result>> results(units.size());
    bool committed = false;
    for (std::size_t step = 0; step < units.size() + 2; ++step) {
      ResultPtr r(PQgetResult(conn_));
      if (!r) fail_connection(Outcome::unknown);
      const auto status = PQresultStatus(r.get());
      if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
        if (step >= 1 && step <= units.size()) results[step - 1] = convert(r.get());
        if (step == units.size() + 1) committed = std::string_view(PQcmdStatus(r.get())) == "COMMIT";
      } else {
        all_ok = false;
      }
      while (PGresult* extra = PQgetResult(conn_)) PQclear(extra);  // the NULL that ends each query
    }
    ResultPtr sync(PQgetResult(conn_));
    if (!sync || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC) fail_connection(Outcome::unknown);
    if (!all_ok || !committed) {
      // An aborted explicit transaction is rolled back by the sync; ROLLBACK makes sure.
      PQexitPipelineMode(conn_);
      rollback();
      return false;
    }
    for (std::size_t i = 0; i < units.size(); ++i) distribute(units[i], std::move(*results[i]));
    return true;
  }

  const std::string& prepare(std::string_view sql) {
    auto it = statements_.find(std::string(sql));
    if (it != statements_.end()) return it->second;
    if (statements_.size() > 512) {
      ResultPtr r(PQexec(conn_, "DEALLOCATE ALL"));
      check(r.get(), Outcome::rolled_back);
      statements_.clear();
      ++clears_;
    }
    std::string name = "nsl_" + std::to_string(++counter_);
    ResultPtr r(PQprepare(conn_, name.c_str(), std::string(sql).c_str(), 0, nullptr));
    check(r.get(), Outcome::rolled_back);
    return statements_.emplace(std::string(sql), std::move(name)).first->second;
  }

  void simple(const char* sql, Outcome outcome) {
    ResultPtr r(PQexec(conn_, sql));
    check(r.get(), outcome);
  }

  [[noreturn]] void fail_connection(Outcome outcome) {
    broken_ = true;
    ambiguous_ = outcome == Outcome::unknown;
    std::string message = PQerrorMessage(conn_);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    throw DatabaseError(DatabaseError::Kind::unavailable,
                        std::string(ambiguous_ ? "the connection to PostgreSQL was lost before the outcome was known: "
                                               : "the connection to PostgreSQL was lost: ") +
                            message);
  }

  void check(PGresult* r, Outcome outcome) {
    const auto status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return;
    if (PQstatus(conn_) != CONNECTION_OK || !r) fail_connection(outcome);
    const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    const char* primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    const std::string sqlstate = state ? state : "";
    const auto kind = kind_of_state(sqlstate);
    if (kind == DatabaseError::Kind::unavailable) {
      broken_ = true;  // the server is going away: drop this connection
      ambiguous_ = outcome == Outcome::unknown;
    }
    throw DatabaseError(kind, "PostgreSQL " + sqlstate + ": " + (primary ? primary : PQresStatus(status)));
  }

  static Result convert(PGresult* r) {
    Result out;
    const int ncol = PQnfields(r);
    const int nrow = PQntuples(r);
    out.columns.reserve(static_cast<std::size_t>(ncol));
    std::vector<Oid> types(static_cast<std::size_t>(ncol));
    for (int c = 0; c < ncol; ++c) {
      out.columns.emplace_back(PQfname(r, c));
      types[static_cast<std::size_t>(c)] = PQftype(r, c);
    }
    out.rows.resize(static_cast<std::size_t>(nrow));
    for (int i = 0; i < nrow; ++i) {
      auto& row = out.rows[static_cast<std::size_t>(i)];
      row.reserve(static_cast<std::size_t>(ncol));
      for (int c = 0; c < ncol; ++c) {
        if (PQgetisnull(r, i, c)) {
          row.emplace_back(nullptr);
          continue;
        }
        const std::string_view text(PQgetvalue(r, i, c), static_cast<std::size_t>(PQgetlength(r, i, c)));
        switch (types[static_cast<std::size_t>(c)]) {
          case kBool:
            row.emplace_back(std::int64_t{text == "t" ? 1 : 0});
            break;
          case kInt2:
          case kInt4:
          case kInt8:
          case kOid: {
            std::int64_t v = 0;
            std::from_chars(text.data(), text.data() + text.size(), v);
            row.emplace_back(v);
            break;
          }
          case kFloat4:
          case kFloat8:
            row.emplace_back(std::stod(std::string(text)));
            break;
          case kBytea:
            row.emplace_back(Blob{hex_decode_bytea(text)});
            break;
          case kTimestamp:
          case kTimestampTz:
            row.emplace_back(rfc3339(text));
            break;
          default:
            row.emplace_back(std::string(text));
        }
      }
    }
    const char* tuples = PQcmdTuples(r);
    out.affected = tuples && *tuples ? std::stoll(tuples) : 0;
    return out;
  }

  PGconn* conn_;
  Clock::time_point opened_;
  std::unordered_map<std::string, std::string> statements_;
  std::uint64_t counter_ = 0;
  std::uint64_t clears_ = 0;  // times the prepared statements were cleared
  bool in_tx_ = false;
  bool broken_ = false;
  bool ambiguous_ = false;
};

std::unique_ptr<PgConnection> connect(const PgOptions& o) {
  std::string options = "-c search_path=" + o.search_path + " -c TimeZone=UTC -c DateStyle=ISO";
  if (o.command_timeout_s > 0) options += " -c statement_timeout=" + std::to_string(o.command_timeout_s * 1000);
  const std::string port = std::to_string(o.port);
  const std::string timeout = std::to_string(o.timeout_s);
  std::vector<const char*> keys{"host", "port", "dbname", "user", "connect_timeout", "application_name", "options"};
  std::vector<const char*> values{o.host.c_str(),     port.c_str(),    o.database.c_str(),
                                  o.username.c_str(), timeout.c_str(), o.application_name.c_str(),
                                  options.c_str()};
  if (!o.password.empty()) {
    keys.push_back("password");
    values.push_back(o.password.c_str());
  }
  if (!o.ssl_mode.empty()) {
    keys.push_back("sslmode");
    values.push_back(o.ssl_mode.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* conn = PQconnectdbParams(keys.data(), values.data(), 0);
  if (!conn || PQstatus(conn) != CONNECTION_OK) {
    std::string message = conn ? PQerrorMessage(conn) : "out of memory";
    if (conn) PQfinish(conn);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    const bool auth = message.find("password") != std::string::npos || message.find("authentication") != std::string::npos;
    throw DatabaseError(auth ? DatabaseError::Kind::other : DatabaseError::Kind::unavailable,
                        "cannot connect to " + o.describe() + ": " + message);
  }
  // Notices (CREATE ... IF NOT EXISTS skipping, ROLLBACK outside a transaction) are not errors.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  return std::make_unique<PgConnection>(conn);
}

// Before retry `attempt` (1..): after a lost server 0.5 s, 1.5 s, 4.5 s (inside the guide's 5 s
// maximum delay); after a conflict a random pause in a window that doubles from 10 ms up to 320 ms
// ("full jitter"), so that contenders on one hot row spread out instead of meeting again.
Clock::duration backoff(int attempt, DatabaseError::Kind kind = DatabaseError::Kind::unavailable) {
  if (kind == DatabaseError::Kind::busy) {
    thread_local std::minstd_rand random(std::random_device{}());
    const auto window = 10u << std::min(attempt - 1, 5);
    return std::chrono::milliseconds(1 + static_cast<int>(random() % window));
  }
  auto d = std::chrono::milliseconds(500);
  for (int i = 1; i < attempt; ++i) d *= 3;
  return std::min<Clock::duration>(d, std::chrono::seconds(5));
}

// A lost server is tried 3 more times (about 6.5 s in all); a conflict 10 more times, because
// every round of a conflict commits at least one contender and the pauses are short.
constexpr int kRetries = 3;
constexpr int kConflictRetries = 10;

// Whether a failure after `attempt` earlier retries is worth another try.
bool retryable(const DatabaseError& e, const PgConnection* c, int attempt) {
  if (e.kind() == DatabaseError::Kind::busy) return attempt < kConflictRetries;
  return e.kind() == DatabaseError::Kind::unavailable && !(c && c->ambiguous()) && attempt < kRetries;
}

}  // namespace

bool looks_like_postgres(std::string_view text) {
  const auto lower = to_lower(trim(text));
  return lower.starts_with("postgres://") || lower.starts_with("postgresql://") || lower.find("host=") != std::string::npos ||
         lower.find("server=") != std::string::npos;
}

PgOptions parse_pg_connection_string(std::string_view text) {
  PgOptions o;
  const auto lower = to_lower(trim(text));
  if (lower.starts_with("postgres://") || lower.starts_with("postgresql://")) {
    o = parse_uri(trim(text));
  } else {
    // Key=Value pairs separated by ';'; a value may be double-quoted to hold ';' ("" is a quote).
    std::vector<std::string> items(1);
    bool quoted = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
      const char ch = text[i];
      if (ch == '"') {
        if (quoted && i + 1 < text.size() && text[i + 1] == '"') {
          items.back().push_back('"');
          ++i;
        } else {
          quoted = !quoted;
        }
      } else if (ch == ';' && !quoted) {
        items.emplace_back();
      } else {
        items.back().push_back(ch);
      }
    }
    for (std::string_view item : items) {
      if (trim(item).empty()) continue;
      const auto eq = item.find('=');
      if (eq == std::string_view::npos) {
        throw std::invalid_argument("connection string: '" + std::string(trim(item).substr(0, 40)) + "' is not Key=Value");
      }
      set_option(o, std::string(trim(item.substr(0, eq))), item.substr(eq + 1));
    }
  }
  validate(o);
  return o;
}

std::string PgOptions::describe() const {
  return "postgresql://" + username + "@" + host + ":" + std::to_string(port) + "/" + database + " (schema " + search_path + ")";
}

struct PgDatabase::Pooled {
  std::unique_ptr<PgConnection> conn;
};

std::unique_ptr<Connection> PgDatabase::open(const PgOptions& options) { return connect(options); }

PgDatabase::PgDatabase(PgOptions options, metrics::Registry& registry, log::Logger log)
    : options_(std::move(options)),
      log_(std::move(log)),
      idle_gauge_(registry.gauge("nsl_db_pool_connections", "Database connections by state", {"state"}).with({"idle"})),
      busy_gauge_(registry.gauge("nsl_db_pool_connections", "Database connections by state", {"state"}).with({"busy"})),
      total_gauge_(registry.gauge("nsl_db_pool_connections_total", "Database connections open").with({})),
      waiters_gauge_(registry.gauge("nsl_db_pool_waiters", "Callers waiting for a database connection").with({})),
      retries_(registry.counter("nsl_db_retries_total", "Database operations retried after a transient failure").with({})),
      // One transaction at a time: two running at once contend for the same index pages and
      // measured slower on 2 cores (bench/storage_bench.sh). A second joins only when writes
      // have waited 10 ms (a stuck transaction or slow commits), so none waits behind it long.
      group_(
          pool_, [this](std::vector<GroupCommit::Item*>& batch) { execute_batch(batch); }, registry, 256, 2,
          std::chrono::milliseconds(10)),
      pool_("db", static_cast<std::size_t>(options_.max_pool), registry) {
  registry.gauge("nsl_db_pool_max_connections", "Maximum Pool Size").with({}).set(options_.max_pool);
  for (int attempt = 0;; ++attempt) {
    try {
      std::vector<std::unique_ptr<Pooled>> opened;
      for (int i = 0; i < std::max(1, options_.min_pool); ++i)
        opened.push_back(std::make_unique<Pooled>(Pooled{connect(options_)}));
      std::lock_guard lock(mutex_);
      total_ = static_cast<int>(opened.size());
      for (auto& p : opened) idle_.push_back(std::move(p));
      break;
    } catch (const DatabaseError& e) {
      if (e.kind() != DatabaseError::Kind::unavailable || attempt >= kRetries) throw;
      log_.warn("PostgreSQL is not answering yet; retrying", {{"database", options_.describe()}, {"error", e.what()}});
      std::this_thread::sleep_for(backoff(attempt + 1));
    }
  }
  publish_gauges();
}

PgDatabase::~PgDatabase() { pool_.join(); }

void PgDatabase::publish_gauges() {
  idle_gauge_.set(static_cast<double>(idle_.size()));
  busy_gauge_.set(busy_);
  total_gauge_.set(total_);
  waiters_gauge_.set(waiters_);
  // Guide §15.1.3: warn when more than 80 % of the pool is in use (at most once a minute).
  if (busy_ * 5 > options_.max_pool * 4) {
    const auto now = Clock::now();
    if (now - last_pressure_warning_ > std::chrono::minutes(1)) {
      last_pressure_warning_ = now;
      log_.warn("Connection pool usage above 80%!", {{"busy", busy_}, {"max", options_.max_pool}, {"waiters", waiters_}});
    }
  }
}

std::unique_ptr<PgDatabase::Pooled> PgDatabase::acquire() {
  std::unique_lock lock(mutex_);
  const auto deadline = Clock::now() + std::chrono::seconds(options_.timeout_s);
  ++waiters_;
  while (true) {
    while (!idle_.empty()) {
      auto p = std::move(idle_.back());
      idle_.pop_back();
      if (p->conn->alive()) {
        --waiters_;
        ++busy_;
        publish_gauges();
        return p;
      }
      --total_;  // broken while idle (server restarted): drop it
    }
    if (total_ < options_.max_pool) {
      ++total_;
      lock.unlock();
      try {
        auto p = std::make_unique<Pooled>(Pooled{connect(options_)});
        lock.lock();
        --waiters_;
        ++busy_;
        publish_gauges();
        return p;
      } catch (...) {
        lock.lock();
        --total_;
        --waiters_;
        publish_gauges();
        throw;
      }
    }
    publish_gauges();
    if (available_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() && total_ >= options_.max_pool) {
      --waiters_;
      publish_gauges();
      throw DatabaseError(DatabaseError::Kind::exhausted,
                          "no database connection became free within Timeout (" + std::to_string(options_.timeout_s) + " s)");
    }
  }
}

void PgDatabase::release(std::unique_ptr<Pooled> p) {
  {
    std::lock_guard lock(mutex_);
    --busy_;
    const bool expired = options_.connection_lifetime_s > 0 &&
                         Clock::now() - p->conn->opened() > std::chrono::seconds(options_.connection_lifetime_s);
    if (!p->conn->ok() || expired) {
      --total_;
    } else {
      p->conn->clear_failure();
      idle_.push_back(std::move(p));
    }
    publish_gauges();
  }
  if (p) {
    p.reset();  // close outside the lock
  }
  available_.notify_one();
}

template <class Run>
void PgDatabase::with_retries(const Run& run) {
  for (int attempt = 0;; ++attempt) {
    std::unique_ptr<Pooled> p;
    try {
      p = acquire();
      run(*p->conn);
      release(std::move(p));
      return;
    } catch (const DatabaseError& e) {
      const bool again = retryable(e, p ? p->conn.get() : nullptr, attempt);
      if (p) release(std::move(p));
      if (!again) throw;
      retries_.inc();
      if (e.kind() != DatabaseError::Kind::busy) {
        log_.warn("retrying a database operation", {{"attempt", attempt + 2}, {"error", e.what()}});
      }
      std::this_thread::sleep_for(backoff(attempt + 1, e.kind()));
    } catch (...) {
      if (p) release(std::move(p));
      throw;
    }
  }
}

asio::awaitable<void> PgDatabase::with_connection(std::function<void(Connection&)> fn) {
  // One attempt per trip to the pool; the back-off between attempts waits on a timer, not on a
  // database thread.
  for (int attempt = 0;; ++attempt) {
    std::exception_ptr failure;
    bool again = false;
    auto kind = DatabaseError::Kind::other;
    co_await pool_.run([&] {
      std::unique_ptr<Pooled> p;
      try {
        p = acquire();
        fn(*p->conn);
        release(std::move(p));
      } catch (const DatabaseError& e) {
        again = retryable(e, p ? p->conn.get() : nullptr, attempt);
        kind = e.kind();
        if (p) release(std::move(p));
        failure = std::current_exception();
      } catch (...) {
        if (p) release(std::move(p));
        failure = std::current_exception();
      }
    });
    if (!failure) co_return;
    if (!again) std::rethrow_exception(failure);
    retries_.inc();
    asio::steady_timer timer(co_await asio::this_coro::executor, backoff(attempt + 1, kind));
    co_await timer.async_wait(asio::use_awaitable);
  }
}

asio::awaitable<void> PgDatabase::probe() {
  co_await pool_.run([this] {
    auto p = acquire();
    try {
      (void)p->conn->query("SELECT 1", {});
    } catch (...) {
      release(std::move(p));
      throw;
    }
    release(std::move(p));
  });
}

void PgDatabase::with_connection_blocking(const std::function<void(Connection&)>& fn) { with_retries(fn); }

asio::awaitable<Result> PgDatabase::write(Statement statement) { co_return co_await group_.submit(statement); }

void PgDatabase::execute_batch(std::vector<GroupCommit::Item*>& batch) {
  with_retries([&](Connection& c) {
    // A retry after a lost connection re-runs only the statements that have no outcome yet.
    std::vector<GroupCommit::Item*> pending;
    for (auto* b : batch) {
      if (!b->result) {
        b->error = nullptr;
        pending.push_back(b);
      }
    }
    static_cast<PgConnection&>(c).execute_batch(pending);
    for (auto* b : pending) {
      if (!b->error) continue;
      try {
        std::rethrow_exception(b->error);
      } catch (const DatabaseError& e) {
        // A lost connection before the commit was sent: retry the batch on a new connection.
        if (e.kind() == DatabaseError::Kind::unavailable && !static_cast<PgConnection&>(c).ambiguous()) throw;
      } catch (...) {}
    }
  });
}

}  // namespace nsl::db
