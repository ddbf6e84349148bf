"""The module's outputs equal latentkit-sample's, bit for bit, for every method of every model
file the families export (tests/python/export_family_models.sh), on both backends: the same
file, seed and backend give the same floats whether a Python program or the C++ tool asks."""

import glob
import os
import tempfile
import unittest

import numpy as np

import latentkit as lk
from lk_test_support import env_path, mnist_test_images, read_raw, run_tool

IMAGE_INDICES = (0, 1, 2, 7)


def model_files():
    files = sorted(glob.glob(os.path.join(env_path("LATENTKIT_PYTHON_MODELS"), "*.lkm")))
    if not files:
        raise RuntimeError("no model files in %s" % env_path("LATENTKIT_PYTHON_MODELS"))
    return files


class MatchesTool(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.TemporaryDirectory()
        self.images = mnist_test_images(IMAGE_INDICES)
        self.image_args = ["%s/t10k-images-idx3-ubyte:%d" % (env_path("LATENTKIT_MNIST_DIR"), i)
                           for i in IMAGE_INDICES]

    def tearDown(self):
        self.work.cleanup()

    def path(self, name):
        return os.path.join(self.work.name, name)

    def assert_same_floats(self, ours, tools, what):
        self.assertEqual(ours.dtype, np.float32, what)
        self.assertEqual(ours.shape, tools.shape, what)
        # Bit for bit: equal bytes, so -0.0 and NaN count too.
        if ours.tobytes() != tools.tobytes():
            self.fail("%s: the module and latentkit-sample differ (max abs difference %g)"
                      % (what, float(np.max(np.abs(ours - tools)))))

    def check_model(self, path, backend, threads=1):
        model = lk.Model(path, backend=backend, threads=threads)
        self.assertEqual(model.backend, backend)
        tool = ["--backend", backend, "--threads", threads]
        name = "%s on %s, %d thread(s)" % (os.path.basename(path), backend, threads)
        images_f32, latents_f32 = self.path("images.f32"), self.path("latents.f32")
        picture = self.path("picture.png")
        pixels = model.image_shape
        checked = []
        if model.has_method("decode"):
            run_tool(*tool, "--save-images", images_f32, "--save-latents", latents_f32, path,
                     "sample", "-n", 16, "--seed", 7, "-o", picture)
            self.assert_same_floats(model.sample_latents(16, seed=7), read_raw(latents_f32, (16, model.latent_dims)),
                                    name + ": sample latents")
            self.assert_same_floats(model.sample(16, seed=7), read_raw(images_f32, (16,) + pixels), name + ": sample")
            first = model.latent_groups[0]
            if first.kind == "gaussian" and first.size >= 2:
                run_tool(*tool, "--save-images", images_f32, path, "grid", "3x4", "--x-range", "-2,1.5",
                         "--y-range", "-1,2.5", "-o", picture)
                self.assert_same_floats(model.grid(3, 4, x_range=(-2, 1.5), y_range=(-1, 2.5)),
                                        read_raw(images_f32, (12,) + pixels), name + ": grid")
                run_tool(*tool, "--save-images", images_f32, path, "grid", "5x5", "-o", picture)
                self.assert_same_floats(model.grid(5, 5), read_raw(images_f32, (25,) + pixels), name + ": default grid")
            for group in model.latent_groups:
                if group.kind != "categorical" or first.kind != "gaussian":
                    continue
                # One row per category of the group, the first Gaussian dimension along the columns.
                run_tool(*tool, "--save-images", images_f32, path, "grid", "%dx3" % group.size, "--sweep", group.name,
                         "-o", picture)
                self.assert_same_floats(model.category_grid(group.name, 3),
                                        read_raw(images_f32, (3 * group.size,) + pixels), name + ": sweep " + group.name)
            # Two latents of the model's size, neither on the prior's mode.
            z = np.stack([np.linspace(-1, 1, model.latent_dims), np.linspace(2, 0, model.latent_dims)]).astype(np.float32)
            run_tool(*tool, "--save-images", images_f32, path, "decode", "--z", ",".join("%.9g" % v for v in z[0]),
                     "--z", ",".join("%.9g" % v for v in z[1]), "-o", picture)
            self.assert_same_floats(model.decode(z), read_raw(images_f32, (2,) + pixels), name + ": decode")
            checked.append("decode")
        if model.has_method("encode"):
            run_tool(*tool, "--save-latents", latents_f32, path, "encode", *self.image_args)
            posterior = model.encode(self.images)
            self.assert_same_floats(posterior.mean, read_raw(latents_f32, (len(IMAGE_INDICES), model.latent_dims)),
                                    name + ": encode")
            checked.append("encode")
        if model.has_method("reconstruct"):
            run_tool(*tool, "--save-images", images_f32, path, "reconstruct", *self.image_args, "-o", picture)
            self.assert_same_floats(model.reconstruct(self.images), read_raw(images_f32, (len(IMAGE_INDICES),) + pixels),
                                    name + ": reconstruct")
            checked.append("reconstruct")
        # Every method of the file was compared: a method the tool cannot run would fail here.
        self.assertEqual(sorted(checked), sorted(model.methods), name)
        # The outputs depend on the inputs (a runner that wrote one constant picture for every
        # image would pass the above if the tool had the same bug).
        if model.has_method("reconstruct"):
            reconstructions = model.reconstruct(self.images)
            self.assertGreater(float(np.max(np.abs(reconstructions[0] - reconstructions[1]))), 1e-6, name)
        model.close()

    def test_every_family_file_on_both_backends(self):
        files = model_files()
        backends = ["reference"] + (["xnnpack"] if lk.Model(files[0]).backend == "xnnpack" else [])
        for path in files:
            for backend in backends:
                with self.subTest(model=os.path.basename(path), backend=backend):
                    self.check_model(path, backend)

    def test_threads(self):
        path = os.path.join(env_path("LATENTKIT_PYTHON_MODELS"), "cvae.lkm")
        if lk.Model(path).backend == "xnnpack":
            self.check_model(path, "xnnpack", threads=2)


if __name__ == "__main__":
    unittest.main()
