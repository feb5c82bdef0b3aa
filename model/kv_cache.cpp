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
  const int64_t B = keys_BKSD.at(0).size(0);
  const auto device = keys_BKSD.at(0).device();
  auto longs = at::TensorOptions().dtype(at::kLong).device(device);
  if (!next_position_B.defined()) {  // every row so far holds `length` real tokens
    slot_positions_BS = at::arange(capacity(), longs).unsqueeze(0).repeat({B, 1});
    slot_attendable_BS = at::ones({B, capacity()}, longs.dtype(at::kBool));
    next_position_B = at::full({B}, length, longs);
  }
  const at::Tensor steps_T = at::arange(T, longs);
  const at::Tensor q_pos_BT = next_position_B.unsqueeze(1) + steps_T.unsqueeze(0);
  slot_positions_BS.narrow(1, length, T).copy_(q_pos_BT);
  slot_attendable_BS.narrow(1, length, T).fill_(true);
  attendable_BS = slot_attendable_BS.narrow(1, 0, length + T).clone();
  const at::Tensor lengths_B =
      row_lengths.empty() ? at::full({B}, T, longs) : at::tensor(row_lengths, at::kLong).to(device);
  slot_attendable_BS.narrow(1, length, T).copy_(steps_T.unsqueeze(0) < lengths_B.unsqueeze(1));
  next_position_B += lengths_B;
  return q_pos_BT;
}

}  // namespace symtune
