// doctest for files that also include libtorch. libtorch pulls in glog, whose CHECK, CHECK_EQ,
// ... macros share names with doctest's and would silently turn test assertions into process
// aborts. Include this instead of <doctest/doctest.h>, before anything else.
#pragma once

#include <torch/torch.h>

#undef CHECK
#undef CHECK_EQ
#undef CHECK_NE
#undef CHECK_LT
#undef CHECK_LE
#undef CHECK_GT
#undef CHECK_GE
#undef CHECK_FALSE
#undef CHECK_THROWS

#include <doctest/doctest.h>
