#include <ATen/ATen.h>

#include "model/transformer.h"

namespace symtune {

KVCache KVCache::repeat_rows(const std::vector<int64_t>& counts) const {
  if (keys_BKSD.empty()) return *this;
  const auto device = keys_BKSD[0].device();
  const at::Tensor rows =
      at::repeat_interleave(at::tensor(counts, at::TensorOptions().dtype(at::kLong)).to(device));  // [0,0,1,2,2,...]
  KVCache out;
  out.length = length;
  for (size_t i = 0; i < keys_BKSD.size(); ++i) {
    out.keys_BKSD.push_back(keys_BKSD[i].index_select(0, rows));
    out.values_BKSD.push_back(values_BKSD[i].index_select(0, rows));
  }
  if (next_position_B.defined()) {
    out.slot_positions_BS = slot_positions_BS.index_select(0, rows);
    out.slot_attendable_BS = slot_attendable_BS.index_select(0, rows);
    out.next_position_B = next_position_B.index_select(0, rows);
  }
  return out;
}

at::Tensor KVCache::append_ragged(int64_t T, const std::vector<int64_t>& row_lengths, at::Tensor& attendable_BS) {
  KVCache& cache = *this;
  const int64_t B = keys_BKSD.at(0).size(0);
  const auto device = keys_BKSD.at(0).device();
  auto longs = at::TensorOptions().dtype(at::kLong).device(device);
  if (!cache.next_position_B.defined()) {  // every row so far holds `length` real tokens
    cache.slot_positions_BS = at::arange(cache.capacity(), longs).unsqueeze(0).repeat({B, 1});
    cache.slot_attendable_BS = at::ones({B, cache.capacity()}, longs.dtype(at::kBool));
    cache.next_position_B = at::full({B}, cache.length, longs);
  }
  const at::Tensor steps_T = at::arange(T, longs);
  const at::Tensor q_pos_BT = cache.next_position_B.unsqueeze(1) + steps_T.unsqueeze(0);
  cache.slot_positions_BS.narrow(1, cache.length, T).copy_(q_pos_BT);
  cache.slot_attendable_BS.narrow(1, cache.length, T).fill_(true);
  attendable_BS = cache.slot_attendable_BS.narrow(1, 0, cache.length + T).clone();
  const at::Tensor lengths_B =
      row_lengths.empty() ? at::full({B}, T, longs) : at::tensor(row_lengths, at::kLong).to(device);
  cache.slot_attendable_BS.narrow(1, cache.length, T).copy_(steps_T.unsqueeze(0) < lengths_B.unsqueeze(1));
  cache.next_position_B += lengths_B;
  return q_pos_BT;
}

}  // namespace symtune
