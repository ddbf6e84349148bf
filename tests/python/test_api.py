"""The module as a Python user meets it: loading from a path or bytes, what the model says it
is, categorical groups set by label, errors as exceptions carrying the runtime's message, the
PNG writer, and a model shared between threads. Model files: the C API test's fixture
(make_c_api_fixture) and the families' exports (export_family_models.sh)."""

import os
import struct
import tempfile
import threading
import unittest
import zlib

import numpy as np

import latentkit as lk
from lk_test_support import env_path, mnist_test_images


def fixture(name):
    return os.path.join(env_path("LATENTKIT_C_API_FIXTURE"), name)


def family_file(name):
    return os.path.join(env_path("LATENTKIT_PYTHON_MODELS"), name)


def read_png(path):
    """(width, height, colour type, pixel rows) of a PNG written by lk.write_png."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        crc = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF, "bad CRC in %s" % kind
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour_type = header[:4]
    channels = 1 if colour_type == 0 else 3
    raw = zlib.decompress(idat)
    stride = width * channels + 1
    rows = np.frombuffer(raw, np.uint8).reshape(height, stride)
    assert np.all(rows[:, 0] == 0)
    return width, height, colour_type, rows[:, 1:].reshape(height, width, channels)


class Loading(unittest.TestCase):
    def test_path_and_bytes_give_the_same_model(self):
        path = family_file("cvae.lkm")
        with open(path, "rb") as f:
            data = f.read()
        a, b = lk.Model(path), lk.Model(data)
        self.assertEqual(a.info(), b.info())
        self.assertEqual(a.sample(4, seed=3).tobytes(), b.sample(4, seed=3).tobytes())
        self.assertEqual(lk.Model(bytearray(data)).sample(1, seed=1).tobytes(), a.sample(1, seed=1).tobytes())

    def test_info_describes_the_file(self):
        model = lk.Model(family_file("cvae.lkm"), backend="reference")
        info = model.info()
        self.assertEqual(info["family"], "cvae")
        self.assertEqual(info["dataset"], "mnist")
        self.assertEqual(info["epochs"], 1)
        self.assertEqual(info["image_shape"], (28, 28, 1))
        self.assertEqual(info["value_range"], "unit")
        self.assertEqual(info["backend"], "reference")
        self.assertEqual(info["latent_dims"], 2)
        self.assertEqual(set(info["methods"]), {"decode", "encode", "reconstruct"})
        self.assertEqual(info["methods"]["encode"]["outputs"],
                         [{"role": "latent_mean", "shape": (2,)}, {"role": "latent_log_variance", "shape": (2,)}])
        self.assertIn("test_elbo_nats", info["metrics"])
        self.assertEqual(info["file_size"], os.path.getsize(family_file("cvae.lkm")))
        self.assertEqual(model.latent_groups, (lk.LatentGroup("z", "gaussian", 2, 1, 0, ()),))

    def test_a_plain_autoencoder_gives_codes_without_variance(self):
        model = lk.Model(family_file("ae.lkm"))
        posterior = model.encode(mnist_test_images([0, 1, 2]))
        self.assertEqual(posterior.mean.shape, (3, 2))
        self.assertIsNone(posterior.log_variance)

    def test_batch_shapes_and_grey_images_without_a_channel_axis(self):
        model = lk.Model(family_file("cvae.lkm"))
        z = model.sample_latents(6, seed=2)
        flat = model.decode(z)
        self.assertEqual(model.decode(z.reshape(2, 3, 2)).shape, (2, 3, 28, 28, 1))
        self.assertEqual(model.decode(z.reshape(2, 3, 2)).reshape(6, 28, 28, 1).tobytes(), flat.tobytes())
        self.assertEqual(model.decode(z[0]).shape, (28, 28, 1))
        images = mnist_test_images([0, 1])
        self.assertEqual(model.reconstruct(images[..., 0]).tobytes(), model.reconstruct(images).tobytes())
        self.assertEqual(model.reconstruct(images.astype(np.float64)).tobytes(), model.reconstruct(images).tobytes())


class Errors(unittest.TestCase):
    def assert_raises_with(self, exception, fragment, call, *args, **kwargs):
        with self.assertRaises(exception) as caught:
            call(*args, **kwargs)
        self.assertIn(fragment, str(caught.exception))
        self.assertIsInstance(caught.exception, lk.Error)
        return caught.exception

    def test_bad_files(self):
        with tempfile.TemporaryDirectory() as work:
            garbage = os.path.join(work, "garbage.lkm")
            with open(garbage, "wb") as f:
                f.write(b"not a model file at all, just text")
            e = self.assert_raises_with(lk.MalformedModelError, "wrong file identifier", lk.Model, garbage)
            self.assertEqual(e.status_name, "malformed model")
            self.assertIsInstance(e, ValueError)
            missing = os.path.join(work, "missing.lkm")
            e = self.assert_raises_with(lk.ModelFileError, missing, lk.Model, missing)
            self.assertIsInstance(e, OSError)
            with open(family_file("cvae.lkm"), "rb") as f:
                data = f.read()
            self.assert_raises_with(lk.MalformedModelError, "latentkit_load_memory", lk.Model, data[:len(data) // 2])
        self.assert_raises_with(lk.UnsupportedModelError, "99", lk.Model, fixture("model_v99.lkm"))
        self.assert_raises_with(lk.InvalidArgumentError, "empty", lk.Model, b"")

    def test_bad_arguments(self):
        path = family_file("cvae.lkm")
        self.assert_raises_with(lk.InvalidArgumentError, "unknown backend 'gpu'", lk.Model, path, backend="gpu")
        self.assert_raises_with(lk.InvalidArgumentError, "threads must be 0..256", lk.Model, path, threads=-1)
        self.assert_raises_with(lk.InvalidArgumentError, "threads must be an integer", lk.Model, path, threads=1.5)
        self.assert_raises_with(lk.OutOfMemoryError, "max", lk.Model, path, max_memory=1000)
        model = lk.Model(path)
        self.assert_raises_with(lk.InvalidArgumentError, "n must be 1..", model.sample, 0)
        self.assert_raises_with(lk.InvalidArgumentError, "seed must be 0..", model.sample, 1, seed=-1)
        self.assert_raises_with(lk.InvalidArgumentError, "must be shaped (..., 2)", model.decode,
                                np.zeros((4, 3), np.float32))
        self.assert_raises_with(lk.InvalidArgumentError, "must be shaped (..., 28, 28, 1)", model.encode,
                                np.zeros((2, 27, 28, 1), np.float32))
        self.assert_raises_with(lk.InvalidArgumentError, "x / 255", model.reconstruct, np.zeros((1, 28, 28, 1), np.uint8))
        self.assert_raises_with(lk.InvalidArgumentError, "empty batch", model.decode, np.zeros((0, 2), np.float32))
        self.assert_raises_with(lk.InvalidArgumentError, "no method 'translate' (its methods: decode, encode, "
                                "reconstruct)", model.translate, np.zeros((1, 28, 28, 1), np.float32))
        self.assert_raises_with(lk.InvalidArgumentError, "no latent group 'digit'", model.sample, 2, digit="7")
        self.assert_raises_with(lk.InvalidArgumentError, "rows must be 1..1024", model.grid, 0, 3)
        # The runtime's own messages reach Python unchanged.
        self.assert_raises_with(lk.InvalidArgumentError, "at least 2 Gaussian dimensions",
                                lk.Model(fixture("model_1d.lkm")).grid, 2, 2)
        self.assert_raises_with(lk.InvalidArgumentError, "no method 'decode'", lambda: lk.Model(
            family_file("conv-ae-max-unpool.lkm")).sample(1))
        model.close()
        with self.assertRaisesRegex(ValueError, "closed"):
            model.sample(1)


class MixturePrior(unittest.TestCase):
    def test_components_and_samples(self):
        model = lk.Model(fixture("mixture.lkm"), backend="reference")
        self.assertEqual([g.components for g in model.latent_groups], [3, 0])
        expected = np.fromfile(fixture("mixture_sample.f32"), dtype="<f4").reshape(6, 5)
        np.testing.assert_array_equal(model.sample_latents(6, seed=7), expected)
        plain = lk.Model(fixture("categorical.lkm"), backend="reference")
        self.assertEqual([g.components for g in plain.latent_groups], [0, 0])


class CategoricalGroups(unittest.TestCase):
    def setUp(self):
        self.model = lk.Model(fixture("categorical.lkm"), backend="reference")

    def test_groups_and_labels(self):
        self.assertEqual([g.kind for g in self.model.latent_groups], ["gaussian", "categorical"])
        colour = self.model.latent_groups[1]
        self.assertEqual((colour.name, colour.size, colour.count, colour.offset), ("colour", 3, 1, 2))
        self.assertEqual(colour.labels, ("red", "green", "blue"))

    def test_sample_with_a_category_by_label_or_index(self):
        free = self.model.sample_latents(50, seed=4)
        blue = self.model.sample_latents(50, seed=4, colour="blue")
        self.assertTrue(np.all(blue[:, 2:] == np.array([0, 0, 1], np.float32)))
        self.assertEqual(blue[:, :2].tobytes(), free[:, :2].tobytes())  # the Gaussian part is the prior's
        self.assertGreater(len({tuple(row) for row in free[:, 2:]}), 1)  # unset, the category varies
        self.assertEqual(self.model.sample_latents(50, seed=4, colour=2).tobytes(), blue.tobytes())
        self.assertEqual(self.model.sample_latents(50, seed=4, colour="2").tobytes(), blue.tobytes())  # as --set
        self.assertEqual(self.model.sample(50, seed=4, colour="blue").tobytes(), self.model.decode(blue).tobytes())
        self.assertNotEqual(self.model.sample(50, seed=4, colour="red").tobytes(), self.model.decode(blue).tobytes())
        again = free.copy()
        self.assertIs(self.model.set_category(again, colour="blue"), again)
        self.assertEqual(again.tobytes(), blue.tobytes())

    def test_categories_match_the_tool(self):
        # The same bytes as latentkit-sample's --colour and grid --sweep on the same file.
        from lk_test_support import read_raw, run_tool
        with tempfile.TemporaryDirectory() as work:
            images, picture = os.path.join(work, "x.f32"), os.path.join(work, "p.png")
            for backend in ("reference", "xnnpack"):
                model = lk.Model(fixture("categorical.lkm"), backend=backend)
                if model.backend != backend:
                    continue
                run_tool("--backend", backend, "--save-images", images, fixture("categorical.lkm"), "sample", "-n", 16,
                         "--seed", 3, "--colour", "green", "-o", picture)
                self.assertEqual(model.sample(16, seed=3, colour="green").tobytes(),
                                 read_raw(images, (16, 28, 28, 1)).tobytes())
                run_tool("--backend", backend, "--save-images", images, fixture("categorical.lkm"), "grid", "3x4",
                         "--sweep", "colour", "--x-range", "-1,2", "-o", picture)
                self.assertEqual(model.category_grid("colour", 4, x_range=(-1, 2)).tobytes(),
                                 read_raw(images, (12, 28, 28, 1)).tobytes())
                run_tool("--backend", backend, "--save-images", images, fixture("categorical.lkm"), "grid", "2x2",
                         "--set", "colour=blue", "-o", picture)
                self.assertEqual(model.grid(2, 2, colour="blue").tobytes(), read_raw(images, (4, 28, 28, 1)).tobytes())

    def test_category_grid_rows(self):
        z = self.model.category_grid_latents("colour", 3, x_range=(-1, 1))
        self.assertEqual(z.shape, (9, 5))
        for row in range(3):
            for col in range(3):
                self.assertEqual(z[row * 3 + col, 2:].tolist(), [1.0 if k == row else 0.0 for k in range(3)])
                self.assertEqual(z[row * 3 + col, 0], -1.0 + col)
        with self.assertRaisesRegex(lk.InvalidArgumentError, "is Gaussian"):
            self.model.category_grid_latents(self.model.latent_groups[0].name, 3)
        with self.assertRaisesRegex(lk.InvalidArgumentError, "swept"):
            self.model.category_grid_latents("colour", 3, colour="red")

    def test_bad_categories(self):
        with self.assertRaisesRegex(lk.InvalidArgumentError,
                                    r"no category 'purple' \(its labels: red, green, blue; or an index 0..2\)"):
            self.model.sample(2, colour="purple")
        with self.assertRaisesRegex(lk.InvalidArgumentError, "has categories 0..2, not 3"):
            self.model.sample(2, colour=3)
        gaussian = self.model.latent_groups[0].name
        with self.assertRaisesRegex(lk.InvalidArgumentError, "is Gaussian, not categorical"):
            self.model.sample(2, **{gaussian: 0})
        with self.assertRaisesRegex(lk.InvalidArgumentError, "1 variable"):
            self.model.sample(2, colour=["red", "blue"])
        with self.assertRaisesRegex(lk.InvalidArgumentError, "in place"):
            self.model.set_category(np.zeros((2, 5)), colour="red")  # float64: a copy would be changed


class Pictures(unittest.TestCase):
    def test_tile_and_png_show_the_images(self):
        images = np.zeros((3, 2, 2, 1), np.float32)
        images[0] = 1.0
        images[1, 0, 1] = 0.2
        images[2] = 7.0  # clamped
        picture = lk.tile(images, rows=1, cols=3, gap=1)
        self.assertEqual(picture.shape, (2, 8, 1))
        expected = np.array([[255, 255, 0, 0, 51, 0, 255, 255], [255, 255, 0, 0, 0, 0, 255, 255]], np.uint8)
        self.assertTrue(np.array_equal(picture[:, :, 0], expected))
        with tempfile.TemporaryDirectory() as work:
            path = os.path.join(work, "tiles.png")
            lk.write_png(path, picture)
            width, height, colour_type, pixels = read_png(path)
            self.assertEqual((width, height, colour_type), (8, 2, 0))
            self.assertTrue(np.array_equal(pixels[:, :, 0], expected))
            self.assertEqual(os.listdir(work), ["tiles.png"])  # no temporary left behind
            # The mode any program's new file gets (0666 less the umask), not a temporary's 0600.
            umask = os.umask(0o022)
            os.umask(umask)
            self.assertEqual(os.stat(path).st_mode & 0o777, 0o666 & ~umask)

    def test_a_grid_picture_is_neither_black_nor_uniform(self):
        # The test models trained for one short epoch: blurred strokes, not crisp digits; what
        # a user relies on here is that each tile shows a decoded image and that the grid moves
        # through the latent space.
        model = lk.Model(family_file("cvae.lkm"))
        picture = lk.tile(model.grid(5, 5), 5, 5).astype(int)
        self.assertEqual(picture.shape, (140, 140, 1))
        tiles = [picture[r * 28:(r + 1) * 28, c * 28:(c + 1) * 28, 0] for r in range(5) for c in range(5)]
        for tile in tiles:
            self.assertGreater(tile.max() - tile.min(), 60)
        self.assertGreater(int(np.abs(tiles[0] - tiles[24]).max()), 20)

    def test_rgb_and_symmetric_range(self):
        images = np.full((1, 1, 2, 3), -1.0, np.float32)
        images[0, 0, 1] = [1.0, 0.0, -1.0]
        picture = lk.tile(images, value_range="symmetric")
        self.assertEqual(picture.tolist(), [[[0, 0, 0], [255, 128, 0]]])
        with tempfile.TemporaryDirectory() as work:
            path = os.path.join(work, "rgb.png")
            lk.write_png(path, picture)
            self.assertEqual(read_png(path)[3].tolist(), picture.tolist())
        with self.assertRaises(ValueError):
            lk.write_png(os.path.join(tempfile.gettempdir(), "never.png"), picture.astype(np.float32))


class Threads(unittest.TestCase):
    def test_one_model_shared_by_threads_gives_the_same_images(self):
        model = lk.Model(family_file("cvae.lkm"))
        expected = {seed: model.sample(8, seed=seed).tobytes() for seed in range(8)}
        results, errors = {}, []

        def work(seed):
            try:
                for _ in range(20):
                    results[seed] = model.sample(8, seed=seed).tobytes()
            except Exception as e:  # reported below
                errors.append(e)

        threads = [threading.Thread(target=work, args=(seed,)) for seed in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(results, expected)


if __name__ == "__main__":
    unittest.main()
