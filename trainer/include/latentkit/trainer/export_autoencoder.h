// Export: a dense autoencoder (autoencoder.h: pca, ae, dae, sae) or a convolutional one
// (conv_autoencoder.h: conv-ae, whose stacks are convolutions and, by --upsample, transposed
// convolutions, upsample_nearest2d or max_pool2d / max_unpool2d around the dense code layers)
// into a latentkit model file with three methods over one copy of its weights
// (schema/latentkit.fbs):
//
//   encode       image -> code (role latent)   reshape [28,28,1] -> [784], dense (ReLU) ... -> code
//   decode       code (role latent) -> image   dense (ReLU) ... -> [784] -> reshape [28,28,1]
//                                              (-> sigmoid, except PCA's linear output)
//   reconstruct  image -> image                encode's ops then decode's
//
// A model that cannot decode a free code (conv-ae --upsample max-unpool: decoding needs the
// encoder's pooling switches) has encode and reconstruct only; in its reconstruct the poolings'
// int32 indices flow to the unpoolings.
//
// The latent spec is one Gaussian group of the code's size: the file format has no kind for a
// deterministic code yet, so `sample` and `grid` on such a file draw codes from N(0, I).
#pragma once

#include <string>
#include <vector>

#include "latentkit/model_writer.h"
#include "latentkit/trainer/autoencoder.h"
#include "latentkit/trainer/conv_autoencoder.h"
#include "latentkit/trainer/export.h"
#include "latentkit/trainer/export_layers.h"
#include "latentkit/trainer/run_info.h"

namespace latentkit::trainer {

// The float32 model file's description of a dense autoencoder.
ModelDescription describe_mlp_autoencoder(MlpAutoencoderImpl& model, const char* family, const RunInfo& info);
// Of a convolutional one (export_conv_autoencoder.cpp), any --upsample.
ModelDescription describe_conv_autoencoder(ConvAutoencoderImpl& model, const char* family, const RunInfo& info);

// Writes the file atomically, after checking every method of the float32 file against libtorch on
// both backends (export_checks.h) on the codes of the 5 x 5 grid and 100 N(0, I) samples, the
// decoder's images of them, and those images' codes (without decode: on 125 fixed-seed stroke
// images, which also measure a quantised file through reconstruct). fp16 and int8-weights quantise every weight
// and are measured against float32; int8 (integer activations) is refused: its calibration is the
// CVAE's alone so far.
ExportReport export_autoencoder(AutoencoderNet& model, const char* family, const RunInfo& info,
                                const std::vector<Metric>& metrics, const std::string& output_path,
                                const ExportOptions& options);

}  // namespace latentkit::trainer
