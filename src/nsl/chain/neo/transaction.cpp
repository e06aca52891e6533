#include "nsl/chain/neo/transaction.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

#include "nsl/chain/neo/script.hpp"
#include "nsl/crypto/hash.hpp"

namespace nsl::chain::neo {
namespace {

constexpr std::size_t kMaxSigners = 16;
constexpr std::size_t kMaxAttributes = 16;
constexpr std::size_t kMaxScript = 65535;
constexpr std::size_t kMaxWitnessScript = 1024;
constexpr std::size_t kMaxTransactionSize = 102400;

void write_unsigned(Writer& w, const Transaction& tx) {
  w.u8(tx.version).u32(tx.nonce).i64(tx.system_fee).i64(tx.network_fee).u32(tx.valid_until_block);
  w.var_int(tx.signers.size());
  for (const auto& s : tx.signers) {
    w.bytes(s.account).u8(s.scopes);
    if (s.scopes & kCustomContracts) {
      w.var_int(s.allowed_contracts.size());
      for (const auto& c : s.allowed_contracts) w.bytes(c);
    }
    if (s.scopes & kCustomGroups) {
      w.var_int(s.allowed_groups.size());
      for (const auto& g : s.allowed_groups) w.bytes(g);
    }
    if (s.scopes & kWitnessRules) throw std::invalid_argument("witness rules are not supported by this encoder");
  }
  w.var_int(tx.attributes.size());
  for (const auto& a : tx.attributes) {
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, HighPriority>)
            w.u8(0x01);
          else if constexpr (std::is_same_v<T, OracleResponse>)
            w.u8(0x11).u64(x.id).u8(x.code).var_bytes(x.result);
          else if constexpr (std::is_same_v<T, NotValidBefore>)
            w.u8(0x20).u32(x.height);
          else if constexpr (std::is_same_v<T, Conflicts>)
            w.u8(0x21).bytes(x.hash);
          else
            w.u8(0x22).u8(x.keys);
        },
        a);
  }
  w.var_bytes(tx.script);
}

}  // namespace

Bytes serialize_unsigned(const Transaction& tx) {
  Writer w;
  write_unsigned(w, tx);
  return w.take();
}

Bytes serialize(const Transaction& tx) {
  Writer w;
  write_unsigned(w, tx);
  w.var_int(tx.witnesses.size());
  for (const auto& wit : tx.witnesses) w.var_bytes(wit.invocation).var_bytes(wit.verification);
  return w.take();
}

UInt256 transaction_hash(const Transaction& tx) { return crypto::sha256(serialize_unsigned(tx)); }

Bytes sign_data(const Transaction& tx, std::uint32_t network_magic) {
  Writer w;
  w.u32(network_magic).bytes(transaction_hash(tx));
  return w.take();
}

Bytes signature_invocation(ByteView signature64) {
  if (signature64.size() != 64) throw std::invalid_argument("a Neo N3 signature is 64 bytes r||s");
  return ScriptBuilder().push_bytes(signature64).take();
}

std::optional<Transaction> deserialize(ByteView data, std::string* why, bool witnesses_optional) {
  auto fail = [&](const char* reason) -> std::optional<Transaction> {
    if (why) *why = reason;
    return std::nullopt;
  };
  if (data.size() > kMaxTransactionSize) return fail("larger than the maximum transaction size");
  Reader r(data);
  Transaction tx;
  if (!r.u8(tx.version) || !r.u32(tx.nonce) || !r.i64(tx.system_fee) || !r.i64(tx.network_fee) || !r.u32(tx.valid_until_block)) {
    return fail("truncated header");
  }
  if (tx.version != 0) return fail("invalid version");
  if (tx.system_fee < 0 || tx.network_fee < 0) return fail("negative fee");
  std::uint64_t n = 0;
  if (!r.var_int(n, kMaxSigners) || n == 0) return fail("a transaction has 1 to 16 signers");
  std::set<UInt160> accounts;
  for (std::uint64_t i = 0; i < n; ++i) {
    Signer s;
    if (!r.fixed(s.account) || !r.u8(s.scopes)) return fail("truncated signer");
    if (!accounts.insert(s.account).second) return fail("duplicate signer");
    if ((s.scopes & kGlobal) && s.scopes != kGlobal) return fail("Global cannot be combined with other scopes");
    if (s.scopes & ~(kCalledByEntry | kCustomContracts | kCustomGroups | kWitnessRules | kGlobal)) {
      return fail("unknown witness scope");
    }
    std::uint64_t k = 0;
    if (s.scopes & kCustomContracts) {
      if (!r.var_int(k, 16)) return fail("too many allowed contracts");
      s.allowed_contracts.resize(k);
      for (auto& c : s.allowed_contracts) {
        if (!r.fixed(c)) return fail("truncated allowed contract");
      }
    }
    if (s.scopes & kCustomGroups) {
      if (!r.var_int(k, 16)) return fail("too many allowed groups");
      s.allowed_groups.resize(k);
      for (auto& g : s.allowed_groups) {
        if (!r.fixed(g)) return fail("truncated allowed group");
      }
    }
    if (s.scopes & kWitnessRules) return fail("witness rules are not supported by this decoder");
    tx.signers.push_back(std::move(s));
  }
  if (!r.var_int(n, kMaxAttributes - tx.signers.size())) return fail("too many attributes");
  for (std::uint64_t i = 0; i < n; ++i) {
    std::uint8_t type = 0;
    if (!r.u8(type)) return fail("truncated attribute");
    switch (type) {
      case 0x01:
        tx.attributes.emplace_back(HighPriority{});
        break;
      case 0x11: {
        OracleResponse o;
        if (!r.u64(o.id) || !r.u8(o.code) || !r.var_bytes(o.result, 65535)) return fail("truncated oracle response");
        if (o.code != 0 && !o.result.empty()) return fail("an oracle response carries a result only on success");
        tx.attributes.emplace_back(std::move(o));
        break;
      }
      case 0x20: {
        NotValidBefore nvb;
        if (!r.u32(nvb.height)) return fail("truncated attribute");
        tx.attributes.emplace_back(nvb);
        break;
      }
      case 0x21: {
        Conflicts c;
        if (!r.fixed(c.hash)) return fail("truncated attribute");
        tx.attributes.emplace_back(c);
        break;
      }
      case 0x22: {
        NotaryAssisted na;
        if (!r.u8(na.keys)) return fail("truncated attribute");
        tx.attributes.emplace_back(na);
        break;
      }
      default:
        return fail("unknown attribute type");
    }
  }
  if (!r.var_bytes(tx.script, kMaxScript) || tx.script.empty()) return fail("the script must be 1 to 65535 bytes");
  if (witnesses_optional && r.remaining() == 0) return tx;
  if (!r.var_int(n, kMaxSigners) || n != tx.signers.size()) return fail("one witness per signer");
  for (std::uint64_t i = 0; i < n; ++i) {
    Witness w;
    if (!r.var_bytes(w.invocation, kMaxWitnessScript) || !r.var_bytes(w.verification, kMaxWitnessScript)) {
      return fail("malformed witness");
    }
    tx.witnesses.push_back(std::move(w));
  }
  if (r.remaining() != 0) return fail("trailing bytes");
  return tx;
}

}  // namespace nsl::chain::neo
