// The CVAE's pictures of a run (its FamilyDescription::figures):
//
//   loss.png             train loss and test -ELBO (and -IWAE) per epoch, nats   (gnuplot)
//   latent_scatter.png   test-set posterior means coloured by label; for more than
//                        two latent dimensions their 2-D PCA projection          (gnuplot)
//   reconstructions.png  test inputs (binarised, as the model sees them) each followed by its
//                        reconstruction (decoder mean at the posterior mean): 8 rows of 8 pairs
//   samples.png          8 x 8 decoder means of prior samples z ~ N(0, I)
//   grid_libtorch.png    the 5 x 5 latent grid (first two latents; the others 0)
#include <filesystem>
#include <fstream>

#include "latentkit/image_grid.h"
#include "latentkit/latents.h"
#include "latentkit/trainer/families/cvae_family.h"
#include "cvae_columns.h"

namespace latentkit::trainer {

namespace fs = std::filesystem;
using namespace cvae_columns;

namespace {

const ImageSpec kImage{static_cast<int>(kImageSize), static_cast<int>(kImageSize), 1, ValueRange::unit};

// Restores the model's mode on scope exit.
class EvalModeGuard {
 public:
  explicit EvalModeGuard(Cvae& model) : model_(model), was_training_(model->is_training()) { model_->eval(); }
  ~EvalModeGuard() { model_->train(was_training_); }
  EvalModeGuard(const EvalModeGuard&) = delete;
  EvalModeGuard& operator=(const EvalModeGuard&) = delete;

 private:
  Cvae& model_;
  bool was_training_;
};

}  // namespace

void CvaeFamily::write_pictures(const ReportInputs& in, ReportSummary& summary) {
  torch::NoGradGuard no_grad;
  Cvae& model = model_;
  EvalModeGuard eval_mode(model);
  const fs::path dir(in.run_dir);
  const fs::path work(in.work_dir);
  const auto& fmt = format_number;

  // Loss curves.
  {
    std::ofstream data(work / "loss.dat");
    data << "# epoch train_loss test_neg_elbo test_neg_iwae\n";
    for (const EpochReport& r : in.epochs) {
      data << r.epoch << ' ' << fmt(r.train_loss, "%.4f") << ' ' << fmt(-r.test[kElbo], "%.4f") << ' '
           << (r.test[kIwaeK] > 0 ? fmt(-r.test[kIwae], "%.4f") : std::string("NaN")) << '\n';
    }
    const bool iwae = !in.epochs.empty() && in.epochs.back().test[kIwaeK] > 0;
    std::ofstream gp(work / "loss.gp");
    gp << "set terminal pngcairo size " << kLossPlotWidth << "," << kLossPlotHeight << " font 'sans,10'\n"
       << "set output " << gnuplot_quote((work / "loss.png").string()) << "\n"
       << "set title 'loss per image (nats, lower is better), " << to_string(in.options.binarization)
       << " binarisation'\n"
       << "set xlabel 'epoch'\nset ylabel 'nats'\nset grid\nset key top right\n"
       << "set xrange [0.5:" << (in.epochs.empty() ? 1 : in.epochs.back().epoch) + 0.5 << "]\n"
       << (in.epochs.size() <= 20 ? "set xtics 1\n" : "")
       << "plot " << gnuplot_quote((work / "loss.dat").string())
       << " using 1:2 with linespoints pt 7 lw 2 title 'train -ELBO (epoch mean)', '' using 1:3 with linespoints "
          "pt 5 lw 2 title 'test -ELBO'";
    if (iwae) {
      gp << ", '' using 1:4 with linespoints pt 9 lw 2 title 'test -IWAE (k="
         << static_cast<int64_t>(in.epochs.back().test[kIwaeK]) << ", "
         << iwae_images(in.options.eval_images, in.test_images.size(0)) << " images)'";
    }
    gp << "\n";
  }
  plot_and_note(in, "loss.png", summary);

  // Latent scatter: posterior means of the test set (2-D PCA projection beyond 2 dimensions).
  auto images = in.test_images;
  auto means = torch::empty({images.size(0), model->latent_dims()});
  for (int64_t s = 0; s < images.size(0); s += 500) {
    const int64_t e = std::min(images.size(0), s + 500);
    means.slice(0, s, e).copy_(model->encode(images.slice(0, s, e)).mean);
  }
  plot_latent_scatter(in, means, in.test_labels, in.class_names, "latent_scatter.png", "posterior means", summary);

  // Reconstructions next to their inputs.
  const int64_t pairs = std::min<int64_t>(kTileRows * kTileColumns, images.size(0));
  if (pairs > 0) {
    auto x = images.slice(0, 0, pairs);
    auto reconstruction = torch::sigmoid(model->decode_logits(model->encode(x).mean));
    write_pairs_png((dir / "reconstructions.png").string(), x, reconstruction);
    summary.written.push_back("reconstructions.png");
  }

  // Prior samples and the latent grid, through the same decoder as export checks against.
  LatentSpec spec;
  spec.groups.push_back({LatentKind::gaussian, "z", static_cast<int>(model->latent_dims()), 1, {}, {}, {}});
  {
    const std::vector<float> z = sample_latents(spec, kTileRows * kTileColumns, in.options.seed);
    const std::vector<float> decoded = decode_images(model, z);
    write_png((dir / "samples.png").string(), tile_images(decoded.data(), kImage, kTileRows, kTileColumns));
    summary.written.push_back("samples.png");
  }
  if (spec.dims() >= 2) {
    const std::vector<float> z = grid_latents(spec, 5, 5, default_grid_range(), default_grid_range());
    const std::vector<float> decoded = decode_images(model, z);
    write_png((dir / "grid_libtorch.png").string(), tile_images(decoded.data(), kImage, 5, 5));
    summary.written.push_back("grid_libtorch.png");
  }
}

}  // namespace latentkit::trainer
