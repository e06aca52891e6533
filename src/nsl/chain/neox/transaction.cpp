#include "nsl/chain/neox/transaction.hpp"

#include <algorithm>

#include "nsl/chain/neox/rlp.hpp"
#include "nsl/crypto/hash.hpp"

namespace nsl::chain::neox {
namespace {

void append_fields(rlp::Encoder& e, const Transaction& tx) {
  if (tx.type == Transaction::Type::legacy) {
    e.uint(tx.nonce).uint(tx.gas_price).uint(tx.gas_limit);
  } else {
    e.uint(tx.chain_id).uint(tx.nonce).uint(tx.max_priority_fee_per_gas).uint(tx.max_fee_per_gas).uint(tx.gas_limit);
  }
  if (tx.to)
    e.bytes(*tx.to);
  else
    e.bytes({});
  e.uint(tx.value).bytes(tx.data);
  if (tx.type == Transaction::Type::eip1559) {
    e.begin_list();
    for (const auto& entry : tx.access_list) {
      e.begin_list().bytes(entry.address).begin_list();
      for (const auto& key : entry.storage_keys) e.bytes(key);
      e.end_list().end_list();
    }
    e.end_list();
  }
}

Bytes typed(std::uint8_t type, Bytes payload) {
  payload.insert(payload.begin(), type);
  return payload;
}

// Integers in RLP are minimal big-endian: no leading zero byte.
bool read_uint(const rlp::Item& item, Uint256& out) {
  if (item.is_list || item.bytes.size() > 32 || (!item.bytes.empty() && item.bytes[0] == 0)) return false;
  out = *Uint256::from_be(item.bytes);
  return true;
}

bool read_u64(const rlp::Item& item, std::uint64_t& out) {
  Uint256 v;
  if (!read_uint(item, v) || !v.fits_u64()) return false;
  out = v.low_u64();
  return true;
}

bool read_to(const rlp::Item& item, std::optional<Address>& out) {
  if (item.is_list || (item.bytes.size() != 0 && item.bytes.size() != 20)) return false;
  if (item.bytes.empty()) {
    out.reset();
  } else {
    Address a{};
    std::copy(item.bytes.begin(), item.bytes.end(), a.begin());
    out = a;
  }
  return true;
}

bool read_access_list(const rlp::Item& item, std::vector<AccessListEntry>& out) {
  if (!item.is_list) return false;
  for (const auto& e : item.items) {
    if (!e.is_list || e.items.size() != 2 || e.items[0].is_list || e.items[0].bytes.size() != 20 || !e.items[1].is_list) {
      return false;
    }
    AccessListEntry entry;
    std::copy(e.items[0].bytes.begin(), e.items[0].bytes.end(), entry.address.begin());
    for (const auto& k : e.items[1].items) {
      if (k.is_list || k.bytes.size() != 32) return false;
      Hash256 key{};
      std::copy(k.bytes.begin(), k.bytes.end(), key.begin());
      entry.storage_keys.push_back(key);
    }
    out.push_back(std::move(entry));
  }
  return true;
}

}  // namespace

Bytes signing_payload(const Transaction& tx) {
  rlp::Encoder e;
  append_fields(e, tx);
  if (tx.type == Transaction::Type::legacy) {
    e.uint(tx.chain_id).uint(0).uint(0);  // EIP-155
    return e.finish_list();
  }
  return typed(0x02, e.finish_list());
}

Hash256 signing_hash(const Transaction& tx) { return crypto::keccak256(signing_payload(tx)); }

Bytes encode_signed(const Transaction& tx, const TxSignature& sig) {
  rlp::Encoder e;
  append_fields(e, tx);
  e.uint(sig.v).uint(sig.r).uint(sig.s);
  if (tx.type == Transaction::Type::legacy) return e.finish_list();
  return typed(0x02, e.finish_list());
}

Hash256 transaction_hash(crypto::ByteView signed_raw) { return crypto::keccak256(signed_raw); }

TxSignature sign(const Transaction& tx, crypto::ByteView private_key) {
  return tx_signature(tx, crypto::secp256k1::sign(private_key, signing_hash(tx)));
}

TxSignature tx_signature(const Transaction& tx, const crypto::secp256k1::RecoverableSignature& sig) {
  TxSignature out;
  out.r = *Uint256::from_be(sig.r);
  out.s = *Uint256::from_be(sig.s);
  if (tx.type == Transaction::Type::legacy) {
    out.v = Uint256::parse(std::to_string(static_cast<std::uint64_t>(sig.recovery_id) + 35 + 2 * tx.chain_id)).value();
  } else {
    out.v = static_cast<std::uint64_t>(sig.recovery_id);
  }
  return out;
}

std::optional<int> recovery_id(const Transaction& tx, const TxSignature& sig) {
  if (!sig.v.fits_u64()) return std::nullopt;
  const auto v = sig.v.low_u64();
  if (tx.type == Transaction::Type::eip1559) {
    if (v > 1) return std::nullopt;
    return static_cast<int>(v);
  }
  const auto base = 35 + 2 * tx.chain_id;
  if (v != base && v != base + 1) return std::nullopt;
  return static_cast<int>(v - base);
}

std::optional<DecodedTransaction> decode_signed(crypto::ByteView raw, std::string* why) {
  auto fail = [&](std::string reason) -> std::optional<DecodedTransaction> {
    if (why) *why = std::move(reason);
    return std::nullopt;
  };
  if (raw.empty()) return fail("empty transaction");
  DecodedTransaction out;
  auto& tx = out.tx;
  crypto::ByteView body = raw;
  if (raw[0] == 0x02) {
    tx.type = Transaction::Type::eip1559;
    body = raw.subspan(1);
  } else if (raw[0] >= 0xC0) {
    tx.type = Transaction::Type::legacy;
  } else {
    return fail("unsupported transaction type " + std::to_string(raw[0]));
  }
  std::string rlp_why;
  const auto item = rlp::decode(body, &rlp_why);
  if (!item) return fail("malformed RLP: " + rlp_why);
  if (!item->is_list) return fail("a transaction is an RLP list");
  const auto& f = item->items;
  bool ok = true;
  std::size_t sig_at = 0;
  if (tx.type == Transaction::Type::legacy) {
    if (f.size() != 9) return fail("a legacy transaction has 9 fields");
    ok = read_u64(f[0], tx.nonce) && read_uint(f[1], tx.gas_price) && read_u64(f[2], tx.gas_limit) && read_to(f[3], tx.to) &&
         read_uint(f[4], tx.value) && !f[5].is_list;
    if (ok) tx.data = f[5].bytes;
    sig_at = 6;
  } else {
    if (f.size() != 12) return fail("a type-2 transaction has 12 fields");
    ok = read_u64(f[0], tx.chain_id) && read_u64(f[1], tx.nonce) && read_uint(f[2], tx.max_priority_fee_per_gas) &&
         read_uint(f[3], tx.max_fee_per_gas) && read_u64(f[4], tx.gas_limit) && read_to(f[5], tx.to) &&
         read_uint(f[6], tx.value) && !f[7].is_list && read_access_list(f[8], tx.access_list);
    if (ok) tx.data = f[7].bytes;
    sig_at = 9;
  }
  ok = ok && read_uint(f[sig_at], out.signature.v) && read_uint(f[sig_at + 1], out.signature.r) &&
       read_uint(f[sig_at + 2], out.signature.s);
  if (!ok) return fail("a field has the wrong type or a non-canonical integer");
  if (tx.type == Transaction::Type::legacy) {
    if (!out.signature.v.fits_u64() || out.signature.v.low_u64() < 35) {
      return fail("the signature is not EIP-155 replay-protected");
    }
    tx.chain_id = (out.signature.v.low_u64() - 35) / 2;
  }
  const auto recid = recovery_id(tx, out.signature);
  if (!recid) return fail("invalid signature v");
  crypto::secp256k1::RecoverableSignature rs;
  rs.r = out.signature.r.to_be32();
  rs.s = out.signature.s.to_be32();
  rs.recovery_id = *recid;
  const auto pub = crypto::secp256k1::recover(signing_hash(tx), rs);
  if (!pub) return fail("the signature does not recover to a public key");
  out.sender = address_of(*pub);
  return out;
}

}  // namespace nsl::chain::neox
