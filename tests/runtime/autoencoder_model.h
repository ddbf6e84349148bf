// A small autoencoder with three methods, written op by op, for tests and the fuzz corpus.
//
//   encode:      x [3,3,1] -> reshape [9] -> fc 5 + bias -> relu -> fc 2 (mean), fc 2 (log-variance)
//   decode:      z [2] -> fc 9 -> sigmoid -> reshape [3,3,1]
//   reconstruct: the encoder's ops up to the mean, then the decoder's reading the mean for z
//
// The methods share their weight tensors (one copy in the file). Tensor indices, which tests
// use to break the model on purpose: 0 x, 1 x_flat, 2 enc_w1, 3 enc_b1, 4 enc_h, 5 enc_h_relu,
// 6 enc_w_mean, 7 enc_w_logvar, 8 mean, 9 logvar, 10 z, 11 dec_w, 12 dec_logits, 13 dec_probs,
// 14 image.
#pragma once

#include <cstdint>

#include "latentkit/model_writer.h"

namespace latentkit::testing {

ModelDescription small_autoencoder(uint64_t seed);

// The same with a plain autoencoder's encoder: encode (image -> latent) gives the code (the
// tensor "code", where the other has "mean"), with no log-variance; the indices above without
// 7 and 9. Without decode (as a max-unpooling decoder's file), it has no tensor z either.
ModelDescription plain_autoencoder(uint64_t seed, bool with_decode = true);

}  // namespace latentkit::testing
