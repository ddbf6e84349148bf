// The autoencoder families' pictures of a run (autoencoder_columns::figures):
//
//   loss.png             train loss and the test squared error and cross-entropy per epoch, per
//                        image (gnuplot)
//   reconstructions.png  test inputs (as the model sees them) each followed by its reconstruction:
//                        8 rows of 8 pairs
//   denoising.png        dae: the same test inputs corrupted as the test figure corrupts them
//                        (fixed seed), each followed by the reconstruction
#include <ATen/CPUGeneratorImpl.h>

#include <filesystem>
#include <fstream>

#include "latentkit/trainer/families/autoencoder_family.h"
#include "autoencoder_columns.h"

namespace latentkit::trainer {

namespace fs = std::filesystem;
using namespace autoencoder_columns;

void AutoencoderFamily::write_pictures(const ReportInputs& in, ReportSummary& summary) {
  torch::NoGradGuard no_grad;
  const bool was_training = net_->is_training();
  net_->eval();
  const fs::path dir(in.run_dir);
  const fs::path work(in.work_dir);
  const auto& fmt = format_number;

  {
    std::ofstream data(work / "loss.dat");
    data << "# epoch train_loss test_mse test_bce\n";
    for (const EpochReport& r : in.epochs) {
      data << r.epoch << ' ' << fmt(r.train_loss, "%.4f") << ' ' << fmt(r.test[kMse], "%.4f") << ' '
           << fmt(r.test[kBce], "%.4f") << '\n';
    }
    const std::string loss = config_.loss == ReconstructionLoss::mse ? "squared error" : "cross-entropy";
    std::ofstream gp(work / "loss.gp");
    gp << "set terminal pngcairo size " << kLossPlotWidth << "," << kLossPlotHeight << " font 'sans,10'\n"
       << "set output " << gnuplot_quote((work / "loss.png").string()) << "\n"
       << "set title 'per image, summed over its pixels (lower is better), " << to_string(in.options.binarization)
       << " binarisation'\n"
       << "set xlabel 'epoch'\nset ylabel 'per image'\nset grid\nset key top right\n"
       << "set xrange [0.5:" << (in.epochs.empty() ? 1 : in.epochs.back().epoch) + 0.5 << "]\n"
       << (in.epochs.size() <= 20 ? "set xtics 1\n" : "")
       << "plot " << gnuplot_quote((work / "loss.dat").string()) << " using 1:2 with linespoints pt 7 lw 2 title "
       << gnuplot_quote("train loss (" + loss + (config_.sparsity.kind != Sparsity::none ? " + sparsity" : "") +
                        (config_.noise ? ", corrupted inputs" : "") + ")")
       << ", '' using 1:3 with linespoints pt 5 lw 2 title 'test squared error', '' using 1:4 with linespoints pt 9 "
          "lw 2 title 'test cross-entropy (nats)'\n";
  }
  plot_and_note(in, "loss.png", summary);

  const int64_t pairs = std::min<int64_t>(kTileRows * kTileColumns, in.test_images.size(0));
  if (pairs > 0) {
    const torch::Tensor x = in.test_images.slice(0, 0, pairs);
    write_pairs_png((dir / "reconstructions.png").string(), x, net_->reconstruct(x));
    summary.written.push_back("reconstructions.png");
    if (config_.noise) {
      // The corruption of the whole test set, as evaluate() draws it, so these are its first images.
      const torch::Tensor y =
          corrupt(in.test_images, *config_.noise, at::make_generator<at::CPUGeneratorImpl>(kTestCorruptionSeed))
              .slice(0, 0, pairs);
      write_pairs_png((dir / "denoising.png").string(), y, net_->reconstruct(y));
      summary.written.push_back("denoising.png");
    }
  }
  net_->train(was_training);
}

}  // namespace latentkit::trainer
