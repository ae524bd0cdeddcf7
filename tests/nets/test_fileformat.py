"""Policy file round-trips, size, and every corruption case."""

import struct
import zlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from genome import BinaryNetwork, DitheredThermometerEncoder, ModelFormatError, OneHotEncoder, RawBitsEncoder, SignEncoder, ThermometerEncoder
from genome.nets import fileformat

ENCODERS = {
    "none": lambda n: None,
    "thermometer": lambda n: ThermometerEncoder.uniform([-1.0] * (n // 8), [1.0] * (n // 8), 8),
    "thermometer-learned": lambda n: ThermometerEncoder.from_samples(np.random.default_rng(0).normal(size=(100, n // 8)), 8),
    "dithered": lambda n: DitheredThermometerEncoder.from_samples(np.random.default_rng(0).normal(size=(100, n // 8)), 8),
    "onehot": lambda n: OneHotEncoder.uniform([0.0] * (n // 4), [3.0] * (n // 4), 4),
    "sign": lambda n: SignEncoder(np.linspace(-1, 1, n)),
    "rawbits": lambda n: RawBitsEncoder(n // 8),
}


@pytest.fixture
def policy_file(tmp_path):
    cartpole_like = ThermometerEncoder.uniform([-2.4, -3, -0.21, -3.5], [2.4, 3, 0.21, 3.5], 16)
    net = BinaryNetwork.random([64, 64, 2], rng=0, bias_range=4, encoder=cartpole_like)
    path = tmp_path / "policy.gbn"
    net.save(path)
    return net, path


@pytest.mark.parametrize("encoder", list(ENCODERS))
@pytest.mark.parametrize("sizes", [[64, 64, 2], [128, 65, 129, 3], [8, 1], [1024, 64, 18]])
def test_round_trip_with_every_encoder(tmp_path, sizes, encoder):
    net = BinaryNetwork.random(sizes, rng=1, bias_range=300, encoder=ENCODERS[encoder](sizes[0]))
    path = tmp_path / "p.gbn"
    net.save(path)
    loaded = BinaryNetwork.load(path)
    assert loaded == net
    x = np.random.default_rng(2).integers(0, 2, size=(5, sizes[0]))
    np.testing.assert_array_equal(loaded.forward(x), net.forward(x))
    assert path.read_bytes() == loaded.to_bytes()  # byte-identical re-save


@given(st.lists(st.integers(1, 140), min_size=2, max_size=4), st.integers(0, 10**6), st.integers(0, 2**32 - 1))
def test_round_trip_any_shape_and_bias(sizes, bias_range, seed):
    net = BinaryNetwork.random(sizes, rng=seed, bias_range=bias_range)
    assert BinaryNetwork.from_bytes(net.to_bytes()) == net


def test_cartpole_sized_policy_is_well_under_one_kib(policy_file):
    net, path = policy_file
    assert path.stat().st_size < 768, path.stat().st_size
    # edges learned from samples are stored explicitly, and still fit in 1 KiB
    samples = np.random.default_rng(0).normal(size=(500, 4))
    learned = BinaryNetwork.random([64, 64, 2], rng=0, bias_range=4, encoder=ThermometerEncoder.from_samples(samples, 16))
    assert len(learned.to_bytes()) < 1024


def test_empty_file(tmp_path):
    path = tmp_path / "empty.gbn"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match=f"{path}.*empty"):
        BinaryNetwork.load(path)


def test_every_truncation_is_reported(policy_file):
    net, path = policy_file
    data = path.read_bytes()
    for n in range(1, len(data)):
        with pytest.raises(ModelFormatError, match="truncated"):
            BinaryNetwork.from_bytes(data[:n], "cut.gbn")


def test_every_single_byte_corruption_is_detected(policy_file):
    net, path = policy_file
    data = bytearray(path.read_bytes())
    for i in range(len(data)):
        for flip in (0x01, 0x80, 0xFF):
            bad = bytearray(data)
            bad[i] ^= flip
            with pytest.raises(ModelFormatError) as exc:
                BinaryNetwork.from_bytes(bytes(bad), "bad.gbn")
            assert str(exc.value).startswith("bad.gbn: ")


def test_trailing_bytes(policy_file):
    _, path = policy_file
    with pytest.raises(ValueError, match="unexpected bytes"):
        BinaryNetwork.from_bytes(path.read_bytes() + b"\0", "x")


@pytest.mark.parametrize("content", [b"\x89PNG\r\n\x1a\n" + b"\0" * 40, b"hello world, this is text", b"PK\x03\x04" + bytes(100), b"\x80\x04\x95"])
def test_foreign_files(tmp_path, content):
    path = tmp_path / "foreign.bin"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=f"{path}: not a genome policy file"):
        BinaryNetwork.load(path)


def _reseal(body: bytes) -> bytes:
    """Fix up length and CRC so that a deliberately malformed body reaches the parser."""
    total = len(body) + 4
    body = body[:6] + struct.pack("<I", total) + body[10:]
    return body + struct.pack("<I", zlib.crc32(body))


def test_unsupported_version(policy_file):
    _, path = policy_file
    data = bytearray(path.read_bytes()[:-4])
    data[4:6] = struct.pack("<H", 99)
    with pytest.raises(ValueError, match="version 99"):
        BinaryNetwork.from_bytes(_reseal(bytes(data)), "v.gbn")


def test_well_sealed_but_malformed_contents(policy_file):
    _, path = policy_file
    body = path.read_bytes()[:-4]
    # a layer size of 0
    bad = bytearray(body)
    bad[12:16] = struct.pack("<I", 0)
    with pytest.raises(ValueError, match="contain 0"):
        BinaryNetwork.from_bytes(_reseal(bytes(bad)), "m.gbn")
    # an enormous layer size cannot make us allocate: it reads as truncated/implausible
    bad = bytearray(body)
    bad[16:20] = struct.pack("<I", 2**31)
    with pytest.raises(ValueError, match="implausibly large|truncated"):
        BinaryNetwork.from_bytes(_reseal(bytes(bad)), "m.gbn")
    # unknown encoder kind: the encoder kind byte follows biases; rebuild with kind 77
    net = BinaryNetwork.random([8, 2], rng=0)
    raw = net.to_bytes()[:-4]
    assert raw[-2:] == b"\0\0"  # no encoder, no head
    with pytest.raises(ValueError, match="unknown encoder kind 77"):
        BinaryNetwork.from_bytes(_reseal(raw[:-2] + bytes([77, 0])), "k.gbn")
    with pytest.raises(ValueError, match="action head flag 9"):
        BinaryNetwork.from_bytes(_reseal(raw[:-1] + bytes([9])), "h.gbn")
    # encoder/network width mismatch
    mismatched = fileformat.encode([16, 2], [np.ones((2, 16))], [np.zeros(2, int)], RawBitsEncoder(1), None)
    with pytest.raises(ValueError, match="encoder produces 8 bits but the network has 16 inputs"):
        BinaryNetwork.from_bytes(mismatched, "w.gbn")


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        BinaryNetwork.load(tmp_path / "nope.gbn")
    with pytest.raises(ValueError, match="is a directory"):
        BinaryNetwork.load(tmp_path)


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path, policy_file):
    net, path = policy_file
    before = path.read_bytes()
    other = BinaryNetwork.random([64, 64, 2], rng=9)
    other.save(path)
    assert BinaryNetwork.load(path) == other
    assert path.read_bytes() != before
    assert sorted(p.name for p in path.parent.iterdir()) == ["policy.gbn"]


def test_no_pickle_in_the_format(policy_file):
    _, path = policy_file
    data = path.read_bytes()
    assert data[:4] == b"GBNN" and b"\x80\x04" not in data[:2]


# ------------------------------------------------------------------ version 2
DATA = __import__("pathlib").Path(__file__).parent.parent / "data"


def test_a_committed_version_1_file_still_loads(tmp_path):
    """tests/data/policy_v1.gbn was written by genome's version-1 writer (a 64-16-2 network
    with a 4-dimension thermometer encoder)."""
    import hashlib

    from genome.policy import load_policy

    path = DATA / "policy_v1.gbn"
    assert path.read_bytes()[4:6] == b"\x01\x00"
    policy = load_policy(path)
    w, b = policy.network.to_dense()
    digest = hashlib.sha256(b"".join(x.tobytes() for x in w) + b"".join(x.astype(np.int64).tobytes() for x in b)).hexdigest()
    assert digest == "0b56752877d3fe187aa279635a7cb6a6b4740a5e8e7359bca5339908fdb663e3"
    assert policy.act(np.array([0.1, -0.5, 0.3, 1.2], np.float32)) == 1
    policy.network.save(tmp_path / "v2.gbn")  # re-saved as version 2, same network
    assert (tmp_path / "v2.gbn").read_bytes()[4:6] == b"\x02\x00"
    assert BinaryNetwork.load(tmp_path / "v2.gbn") == policy.network


def dense_policy(family="toeplitz"):
    import gymnasium as gym

    from genome.encoders.auto import RunningStats
    from genome.policies.dense import DenseFamily
    from genome.policies.heads import ActionHead

    head = ActionHead.for_space(gym.spaces.Box(-2, 2, (2,), np.float32), "tanh", scale=1.0)
    fam = DenseFamily.create(family, 5, [7], head, family if family in ("toeplitz", "circulant") else "dense", True)
    stats = RunningStats.empty(5)
    stats.add_samples(np.random.default_rng(0).normal(size=(20, 5)))
    return fam.with_stats(stats).decode(np.random.default_rng(1).normal(size=fam.n_params).astype(np.float32))


@pytest.mark.parametrize("family", ["mlp", "toeplitz", "circulant"])
def test_real_valued_round_trip(tmp_path, family):
    from genome.policy import load_network

    net = dense_policy(family)
    net.save(tmp_path / "p.gbn")
    data = (tmp_path / "p.gbn").read_bytes()
    assert data[10] == fileformat.FAMILY_TAGS[family]
    loaded = load_network(tmp_path / "p.gbn")
    assert loaded == net and loaded.family == family
    obs = np.arange(5, dtype=np.float32)
    np.testing.assert_array_equal(loaded.act_obs(obs), net.act_obs(obs))
    # the genome is stored, not the expanded matrices: a Toeplitz layer costs its parameters
    assert len(data) < 4 * net.structure.n_flat + 200 if family == "mlp" else len(data) < 4 * net.n_params + 200
    with pytest.raises(ModelFormatError, match="real-valued"):
        BinaryNetwork.load(tmp_path / "p.gbn")


def reframe(body: bytes) -> bytes:
    """A version-2 file around ``body`` (tag + record) with a valid length and checksum."""
    data = fileformat._FRAME.pack(fileformat.MAGIC, 2, fileformat._FRAME.size + len(body) + 4) + body
    return data + struct.pack("<I", zlib.crc32(data))


def test_corrupt_real_valued_files_name_the_file(tmp_path):
    from genome.policy import load_network

    good = dense_policy().to_bytes()
    cases = {
        "truncated": good[:-9],
        "checksum": good[:30] + bytes([good[30] ^ 1]) + good[31:],
        "unknown family tag": reframe(bytes([77]) + good[11:-4]),
        # tag, layer count, 3 sizes, 2 x (kind, bias flag), then the parameter count at byte 28
        "parameters stored": reframe(good[10:28] + struct.pack("<I", 3) + good[32:-4]),
        "unparsed bytes": reframe(good[10:-4] + b"\0"),
    }
    for what, data in cases.items():
        path = tmp_path / f"{what.replace(' ', '_')}.gbn"
        path.write_bytes(data)
        with pytest.raises(ValueError, match=str(path).replace(".", r"\.")) as err:
            load_network(path)
        assert "\n" not in str(err.value), what
