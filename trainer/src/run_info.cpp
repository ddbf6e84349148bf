#include "latentkit/trainer/run_info.h"

#include <limits>

namespace latentkit::trainer {

double RunInfo::test_figure(const std::string& name) const {
  for (const NamedFigure& figure : test) {
    if (figure.name == name) return figure.value;
  }
  return std::numeric_limits<double>::quiet_NaN();
}

}  // namespace latentkit::trainer
