#include "latentkit/trainer/export.h"

#include "latentkit/trainer/checkpoint.h"

namespace latentkit::trainer {

ExportReport export_run(const std::string& checkpoint_path, const std::string& output_path,
                        const ExportOptions& options) {
  LoadedCheckpoint checkpoint = load_checkpoint(checkpoint_path);
  return checkpoint.family->export_methods(checkpoint.info, output_path, options);
}

}  // namespace latentkit::trainer
