"""Loaders: real layouts, the shared real data, and every kind of bad file."""

import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from skbcnn._config import get_data_home
from skbcnn.datasets import (
    ImageReadError,
    load_busi,
    load_dataset,
    load_image_folder,
    load_images,
    load_medmnist,
    make_synthetic_ultrasound,
    native_image_size,
)

DATA = get_data_home()
needs_busi_sample = pytest.mark.skipif(
    not (DATA / "busi_original_sample").is_dir(),
    reason=f"BUSI sample not found in {DATA} (set SKBCNN_DATA to the shared data folder)",
)
needs_busi256 = pytest.mark.skipif(
    not (DATA / "busi256").is_dir(), reason=f"busi256 not found in {DATA} (set SKBCNN_DATA)"
)
needs_breastmnist = pytest.mark.skipif(
    not (DATA / "breastmnist_trainval.npz").is_file(),
    reason=f"breastmnist_trainval.npz not found in {DATA} (set SKBCNN_DATA)",
)


def save(path, array, **kwargs):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, **kwargs).save(path)
    return path


@pytest.fixture
def tree(tmp_path):
    """Two classes of grey PNGs of different sizes, with BUSI-style masks."""
    rng = np.random.default_rng(0)
    root = tmp_path / "tree"
    for label in ("benign", "malignant"):
        for i in range(3):
            save(root / label / f"{label} ({i}).png", rng.integers(0, 255, (40 + i, 30), np.uint8))
            save(root / label / f"{label} ({i})_mask.png", np.zeros((40 + i, 30), np.uint8))
        save(root / label / f"{label} (0)_mask_1.png", np.full((40, 30), 255, np.uint8))
    return root


# ------------------------------------------------------------ folder trees
def test_folder_loads_classes_and_skips_masks(tree):
    data = load_image_folder(tree, image_size=32)
    assert data.images.shape == (6, 32, 32) and data.images.dtype == np.uint8
    assert data.target.tolist() == [0, 0, 0, 1, 1, 1]
    assert data.target_names.tolist() == ["benign", "malignant"]
    assert not any("_mask" in f for f in data.filenames)
    assert data.groups is None and data.skipped == []
    X, y = load_image_folder(tree, image_size=(16, 24), color="rgb", return_X_y=True)
    assert X.shape == (6, 16, 24, 3) and y.shape == (6,)


def test_folder_class_selection_order_and_parallel(tree):
    data = load_image_folder(tree, classes=["malignant", "benign"], image_size=16)
    assert data.target_names.tolist() == ["malignant", "benign"]
    assert data.target.tolist() == [0, 0, 0, 1, 1, 1]
    parallel = load_image_folder(tree, classes=["malignant", "benign"], image_size=16, n_jobs=2)
    np.testing.assert_array_equal(parallel.images, data.images)


def test_folder_recurses_into_nested_breakhis_layout(tmp_path):
    names = ["SOB_B_A-14-22549AB-40-001.png", "SOB_B_A-14-22549AB-40-002.png", "SOB_B_F-14-9133-40-001.png"]
    for name in names:
        save(tmp_path / "benign" / "SOB" / "adenosis" / name[:-11] / "40X" / name, np.zeros((8, 8), np.uint8))
    save(tmp_path / "malignant" / "SOB" / "ductal" / "SOB_M_DC-14-2523-40-010.png", np.zeros((8, 8), np.uint8))
    data = load_image_folder(tmp_path, image_size=8, group_pattern="breakhis")
    assert sorted(data.groups.tolist()) == ["14-22549AB", "14-22549AB", "14-2523", "14-9133"]
    by_regex = load_image_folder(tmp_path, image_size=8, group_pattern=r"-(\d+-\w+?)-")
    np.testing.assert_array_equal(by_regex.groups, data.groups)
    by_function = load_image_folder(tmp_path, image_size=8, group_pattern=lambda p: os.path.basename(p)[:5])
    assert set(by_function.groups) == {"SOB_B", "SOB_M"}
    with pytest.raises(ValueError, match="does not match the file name"):
        load_image_folder(tmp_path, image_size=8, group_pattern=r"patient(\d+)")


def test_folder_converts_rgba_palette_and_16_bit(tmp_path):
    save(tmp_path / "a" / "rgba.png", np.full((10, 10, 4), 200, np.uint8))
    save(tmp_path / "a" / "palette.png", np.full((10, 10, 3), 100, np.uint8))
    Image.open(tmp_path / "a" / "palette.png").convert("P").save(tmp_path / "a" / "palette.png")
    save(tmp_path / "b" / "deep.png", np.full((10, 10), 65535, np.uint16))
    save(tmp_path / "b" / "grey.tif", np.full((10, 10), 7, np.uint8))
    grey = load_image_folder(tmp_path, image_size=None)
    assert grey.images.shape == (4, 10, 10)
    # sorted file order: palette.png, rgba.png, deep.png, grey.tif
    assert abs(int(grey.images[0].max()) - 100) <= 3  # palette -> RGB -> grey (web palette)
    assert grey.images[1].max() == 200  # RGBA: alpha dropped, grey kept
    assert grey.images[2].min() == 255  # 16-bit full scale -> 255
    assert grey.images[3].max() == 7
    rgb = load_image_folder(tmp_path, image_size=None, color="rgb")
    assert rgb.images.shape == (4, 10, 10, 3)


# --------------------------------------------------------------- bad input
def test_folder_errors(tmp_path, tree):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_image_folder(tmp_path / "nope")
    with pytest.raises(NotADirectoryError, match="is not a folder"):
        load_image_folder(tree / "benign" / "benign (0).png")
    (tmp_path / "empty_root").mkdir()
    with pytest.raises(ValueError, match="has no class sub-folders"):
        load_image_folder(tmp_path / "empty_root")
    (tmp_path / "empty_root" / "benign").mkdir()
    (tmp_path / "empty_root" / "benign" / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="holds no image files"):
        load_image_folder(tmp_path / "empty_root")
    with pytest.raises(FileNotFoundError, match="class folder .*normal does not exist"):
        load_image_folder(tree, classes=["benign", "normal"])
    with pytest.raises(ValueError, match="different sizes"):
        load_image_folder(tree, image_size=None)
    with pytest.raises(ValueError, match="image_size must be"):
        load_image_folder(tree, image_size=0)
    with pytest.raises(ValueError, match="color must be one of"):
        load_image_folder(tree, color="cmyk")
    with pytest.raises(ValueError, match="on_error must be"):
        load_image_folder(tree, on_error="ignore")


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "not an image file"),  # zero-byte file
        (b"this is a text file, not a PNG", "not an image file"),
        ("truncated", "corrupt or truncated"),
    ],
    ids=["zero-byte", "not-an-image", "truncated"],
)
def test_bad_files_raise_or_are_skipped(tree, content, message):
    bad = tree / "benign" / "bad.png"
    if content == "truncated":
        full = (tree / "benign" / "benign (0).png").read_bytes()
        content = full[: len(full) // 2]
    bad.write_bytes(content)
    with pytest.raises(ImageReadError, match=message) as info:
        load_image_folder(tree, image_size=16)
    assert "bad.png" in str(info.value) and "on_error='skip'" in str(info.value)
    with pytest.warns(UserWarning, match="Skipped 1 unreadable file"):
        data = load_image_folder(tree, image_size=16, on_error="skip")
    assert len(data.images) == 6 and len(data.filenames) == 6 and len(data.skipped) == 1
    assert not any("bad.png" in f for f in data.filenames)


def _png_header_only(width, height):
    """A PNG whose header announces ``width`` x ``height`` pixels (a bomb's header)."""

    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def test_decompression_bomb_is_refused_before_decoding(tree):
    (tree / "malignant" / "bomb.png").write_bytes(_png_header_only(50_000, 50_000))
    with pytest.raises(ImageReadError, match="larger than the limit"):
        load_image_folder(tree, image_size=16)


def test_symlink_loop_does_not_hang(tree):
    os.symlink(tree / "benign", tree / "benign" / "loop")
    data = load_image_folder(tree, image_size=16)
    assert len(data.images) == 6


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read files without permission bits")
def test_unreadable_file_is_reported(tree):
    path = tree / "benign" / "benign (0).png"
    path.chmod(0)
    try:
        with pytest.raises(ImageReadError, match="benign \\(0\\).png"):
            load_image_folder(tree, image_size=16)
    finally:
        path.chmod(0o644)


# ------------------------------------------------------------------- BUSI
def test_busi_layout_with_masks(tmp_path, tree):
    root = tmp_path / "download" / "Dataset_BUSI_with_GT"
    root.parent.mkdir()
    tree.rename(root)
    (root / "normal").mkdir()
    save(root / "normal" / "normal (1).png", np.zeros((20, 20, 3), np.uint8))
    save(root / "normal" / "normal (1)_mask.png", np.zeros((20, 20), np.uint8))
    data = load_busi(root.parent, image_size=16, return_masks=True)  # the parent folder works too
    assert data.target_names.tolist() == ["benign", "malignant", "normal"]
    assert data.images.shape == (7, 16, 16) and data.masks.shape == (7, 16, 16)
    assert data.masks[0].all()  # benign (0): union of _mask (empty) and _mask_1 (full)
    assert not data.masks[1].any()
    assert "Al-Dhabyani" in data.DESCR
    X, y = load_busi(root, classes=("benign", "malignant"), image_size=16, return_X_y=True)
    assert X.shape == (6, 16, 16) and set(y) == {0, 1}
    with pytest.raises(FileNotFoundError, match="expected the BUSI layout"):
        load_busi(tmp_path)


@needs_busi_sample
def test_busi_original_sample():
    data = load_busi(DATA / "busi_original_sample", image_size=64, return_masks=True)
    assert data.images.shape == (24, 64, 64)
    assert np.bincount(data.target).tolist() == [8, 8, 8]
    assert not any("_mask" in os.path.basename(f) for f in data.filenames)
    # Normal images have empty masks, lesion images do not.
    assert not data.masks[data.target == 2].any()
    assert data.masks[data.target < 2].reshape(16, -1).any(axis=1).all()


@needs_busi256
def test_busi256_development_split():
    X, y = load_busi(DATA / "busi256", image_size=32, return_X_y=True)
    assert X.shape == (624, 32, 32)
    assert len(np.unique(y)) == 3


# --------------------------------------------------------------- MedMNIST
def test_medmnist_file_and_errors(tmp_path):
    file = tmp_path / "pathmnist.npz"
    np.savez(file, train_images=np.zeros((5, 28, 28, 3), np.uint8), train_labels=np.arange(5) % 3,
             val_images=np.zeros((2, 28, 28, 3), np.uint8), val_labels=np.zeros((2, 1), np.uint8))
    data = load_medmnist(file, split="train", image_size=14)
    assert data.images.shape == (5, 14, 14)
    assert data.target_names.tolist() == ["0", "1", "2"]
    X, y = load_medmnist(file, split="val", color="rgb", return_X_y=True)
    assert X.shape == (2, 28, 28, 3) and y.tolist() == [0, 0]
    with pytest.raises(ValueError, match=r"no split 'test'; splits in the file: \['train', 'val'\]"):
        load_medmnist(file, split="test")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_medmnist(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(ValueError, match="not a readable .npz"):
        load_medmnist(tmp_path / "junk.npz")
    np.savez(tmp_path / "objects.npz", train_images=np.array([None, 1], dtype=object), train_labels=np.zeros(2))
    with pytest.raises(ValueError, match="not a readable .npz"):  # allow_pickle=False refuses objects
        load_medmnist(tmp_path / "objects.npz")
    np.savez(tmp_path / "multi.npz", train_images=np.zeros((2, 8, 8), np.uint8), train_labels=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="multi-label"):
        load_medmnist(tmp_path / "multi.npz")


@needs_breastmnist
def test_breastmnist():
    train = load_medmnist(split="train")
    val = load_medmnist(DATA / "breastmnist_trainval.npz", split="val")
    assert train.images.shape == (546, 28, 28) and val.images.shape == (78, 28, 28)
    assert train.target_names.tolist() == ["malignant", "normal/benign"]
    assert set(train.target) == {0, 1}


def test_data_home_env_var(monkeypatch, tmp_path):
    monkeypatch.setenv("SKBCNN_DATA", str(tmp_path))
    assert get_data_home() == tmp_path
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        load_medmnist()


# -------------------------------------------------------------- synthetic
def test_synthetic_is_reproducible_and_checked():
    a = make_synthetic_ultrasound(20, image_size=24, random_state=3)
    b = make_synthetic_ultrasound(20, image_size=24, random_state=3)
    np.testing.assert_array_equal(a.images, b.images)
    assert a.masks.shape == a.images.shape and a.centers.shape == (20, 2)
    assert np.isnan(a.centers[a.target == 2]).all()
    with pytest.raises(ValueError, match="image_size"):
        make_synthetic_ultrasound(5, image_size=4)
    with pytest.raises(ValueError, match="classes"):
        make_synthetic_ultrasound(5, classes=("benign", "cyst"))


# ------------------------------------------------- any source: load_dataset
def test_load_dataset_synthetic_defaults_and_colour():
    data = load_dataset("synthetic", n_samples=9, random_state=1)
    assert data.kind == "synthetic" and data.images.shape == (9, 64, 64)  # 64 px by default
    assert data.masks.shape == data.images.shape
    np.testing.assert_array_equal(data.labels, data.target_names[data.target])
    rgb = load_dataset("SYNTHETIC", n_samples=9, random_state=1, image_size=16, color="rgb",
                       classes=["benign", "normal"], with_masks=False)
    assert rgb.images.shape == (9, 16, 16, 3) and rgb.masks is None
    assert set(rgb.labels) <= {"benign", "normal"}
    np.testing.assert_array_equal(rgb.images[..., 0], rgb.images[..., 2])


def test_load_dataset_folder_keeps_the_loader_behaviour(tree):
    for mask in tree.glob("*/*_mask*.png"):
        mask.unlink()  # no BUSI mask files: a plain class-folder tree
    data = load_dataset(tree)
    # by default at the size make_cnn_pipeline() trains image files at (issue #22: was 128)
    assert data.kind == "folder" and data.images.shape == (6, 224, 224)
    assert data.masks is None and "Image folder" in data.DESCR
    expected = load_image_folder(tree, classes=["malignant"], image_size=20, color="rgb")
    data = load_dataset(tree, classes=["malignant"], image_size=20, color="rgb")
    np.testing.assert_array_equal(data.images, expected.images)
    assert data.labels.tolist() == ["malignant"] * 3 and data.filenames.tolist() == expected.filenames.tolist()


def test_load_dataset_busi_with_and_without_masks(tmp_path, tree):
    busi = tmp_path / "busi"
    tree.rename(busi)  # the tree's *_mask.png files make it a BUSI folder
    data = load_dataset(busi, image_size=16, classes=["benign", "malignant"])
    assert data.kind == "busi" and data.masks.shape == (6, 16, 16) and data.masks[0].all()
    assert load_dataset(busi, image_size=16, classes=["benign"], with_masks=False).masks is None
    mask = busi / "benign" / "benign (1)_mask.png"
    mask.rename(mask.with_suffix(".bak"))  # a missing mask: loaded without masks
    data = load_dataset(busi, image_size=16, classes=["benign", "malignant"])
    assert data.kind == "busi" and data.masks is None and len(data.images) == 6
    mask.with_suffix(".bak").rename(mask)
    (busi / "benign" / "benign (2)_mask.png").write_bytes(b"not a png")  # a bad mask: an error
    with pytest.raises(ImageReadError, match=r"benign \(2\)_mask.png"):
        load_dataset(busi, image_size=16, classes=["benign", "malignant"])


def test_load_dataset_busi_missing_mask_decodes_images_once(tmp_path, tree, monkeypatch):
    import skbcnn.datasets as datasets

    busi = tmp_path / "busi"
    tree.rename(busi)
    (busi / "malignant" / "malignant (2)_mask.png").unlink()
    decoded = []
    decode = datasets._decode_pixels
    monkeypatch.setattr(datasets, "_decode_pixels", lambda path, *a: decoded.append(path) or decode(path, *a))
    data = load_dataset(busi, image_size=16, classes=["benign", "malignant"])
    assert data.masks is None and len(data.images) == 6
    images = [p for p in decoded if "_mask" not in p.name]
    assert len(images) == len(set(images)) == 6
    with pytest.raises(ValueError, match=r"load_busi: no mask file for .*malignant \(2\)\.png"):
        load_busi(busi, image_size=16, classes=["benign", "malignant"], return_masks=True)


def test_medmnist_channels_and_size(tmp_path):
    file = tmp_path / "rgba.npz"
    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, (3, 12, 10, 4), np.uint8)
    np.savez(file, train_images=rgba, train_labels=np.array([0, 1, 0]))
    rgb = load_medmnist(file, color="rgb").images
    np.testing.assert_array_equal(rgb, rgba[..., :3])
    grey = load_medmnist(file, image_size=(6, 5)).images
    assert grey.shape == (3, 6, 5) and grey.dtype == np.uint8
    np.savez(file, train_images=rgba[..., :1], train_labels=np.array([0, 1, 0]))
    np.testing.assert_array_equal(load_medmnist(file, color="rgb").images, np.repeat(rgba[..., :1], 3, axis=-1))


def test_load_dataset_medmnist_split_size_and_classes(tmp_path):
    file = tmp_path / "breastmnist.npz"
    np.savez(file, test_images=np.zeros((4, 28, 20), np.uint8), test_labels=np.array([[0], [1], [1], [0]]))
    data = load_dataset(file, split="test")
    assert data.kind == "medmnist" and data.images.shape == (4, 28, 20)  # the file's own size
    assert data.labels.tolist() == ["malignant", "normal/benign", "normal/benign", "malignant"]
    assert native_image_size(file, split="test") == 20 and native_image_size(file) is None
    data = load_dataset(file, split="test", classes=["malignant"], image_size=8)
    assert data.images.shape == (2, 8, 8) and data.filenames.tolist() == ["test_0", "test_3"]
    with pytest.raises(ValueError, match=r"classes \['cyst'\] are not in the data"):
        load_dataset(file, split="test", classes=["cyst"])


def test_load_dataset_bad_sources(tmp_path):
    with pytest.raises(FileNotFoundError, match="'.*nowhere' does not exist; it must be a folder"):
        load_dataset(tmp_path / "nowhere")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="not a MedMNIST .npz archive"):
        load_dataset(tmp_path / "notes.txt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="has no class sub-folders"):
        load_dataset(tmp_path / "empty")
    with pytest.raises(ValueError, match="image_size"):
        load_dataset("synthetic", n_samples=6, image_size=0)


def test_native_image_size():
    assert native_image_size("synthetic") == 64
    assert native_image_size("some/folder") is None
    assert native_image_size("missing.npz") is None  # load_dataset reports why


# ------------------------------------------------ unlabelled: load_images
def test_load_images_files_folders_and_problems(tree, tmp_path):
    bad = save(tmp_path / "scans" / "bad.png", np.zeros((4, 4), np.uint8))
    bad.write_bytes(b"not an image")
    good = save(tmp_path / "scans" / "good.png", np.zeros((10, 12), np.uint8))
    good = good.rename(good.with_suffix(".data"))
    data = load_images([good, tree / "malignant"], image_size=(8, 6), color="rgb")
    assert data.images.shape == (4, 8, 6, 3) and data.skipped == []
    assert data.filenames[0] == str(good)  # a file named explicitly is read whatever its extension
    assert not any("_mask" in f for f in data.filenames)  # folders leave BUSI masks out
    assert load_images(str(good)).images.shape == (1, 224, 224)  # the recipe's size (issue #22: was 128)
    missing, empty = tmp_path / "missing.png", tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="missing.png: no such file or folder"):
        load_images([good, missing])
    with pytest.raises(ValueError, match="empty: folder holds no image files"):
        load_images(empty)
    with pytest.raises(ImageReadError, match="bad.png: not an image file"):
        load_images([good, bad])
    with pytest.warns(UserWarning, match="Skipped 3 unreadable"):
        data = load_images([missing, bad, good, empty], image_size=8, on_error="skip")
    assert data.filenames.tolist() == [str(good)] and data.images.shape == (1, 8, 8)
    assert [m.split(": ")[1] for m in data.skipped] == ["no such file or folder.", "folder holds no image files.",
                                                        "not an image file Pillow can read."]
    with pytest.warns(UserWarning):
        nothing = load_images(bad, image_size=8, color="rgb", on_error="skip")
    assert nothing.images.shape == (0, 8, 8, 3) and nothing.images.dtype == np.uint8
    with pytest.raises(ValueError, match="image_size"):
        load_images(good, image_size=None)
