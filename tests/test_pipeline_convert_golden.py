"""Golden bytes: `vidrec convert` of a fixed synthetic dataset gives these exact files.

The hashes were recorded from the code before the issue #23 reorganisation of
`pipeline/` (the split of convert.py, video.py and splits.py), so a refactoring that
changes one byte of a shard, videos.jsonl or the manifest fails here. They hold for
the pinned OpenCV/libjpeg (JPEG encoding and resizing are theirs): after upgrading
OpenCV, check that only the shards changed and record the new values.

Paths are relative (the test runs in its tmp folder), so records, videos.jsonl and the
manifest do not carry the tmp path.
"""

import hashlib
import os

import pytest

from pipeline import convert, synth

GOLDEN = {
    "none": {
        "failures.jsonl":
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "label_map.txt":
            "eb34e5fd75ff877c5e2c07eb660118227a69517ca1ae5c1238a6948fd3806c88",
        "manifest.json":
            "658d67c3e30b81d8fcfbbd217bee88a796492174c8cf8cc32aa909f28df1e18d",
        "test-00000-of-00006.tfrecord":
            "ae1afc2aa3d996f3307a93dab3333e02a64b77b8b5a4c52cf4a9873a03d215c3",
        "test-00001-of-00006.tfrecord":
            "1cbc46c48675afd0f9802efcf333090e6562a2d1922ecad4b2a9912c5d00e6ac",
        "test-00002-of-00006.tfrecord":
            "47d5289418294f9a9d3e8385adc14fa5fe4000d62ba2fe9031700a717eccb896",
        "test-00003-of-00006.tfrecord":
            "f61c12b5649e9689c618ad35ea3a4468f6f809abfbaba318954d31b71b88cc12",
        "test-00004-of-00006.tfrecord":
            "8276b7cc04678f771ec8302e5f32e6da7ecca34aaba0ce170c19a6e28214a842",
        "test-00005-of-00006.tfrecord":
            "fa99d9ae00fd3a44b3ce85ec10f2129c8c55efb2c5aeac6a7ff030f8e2399e93",
        "train-00000-of-00003.tfrecord":
            "8df518f323a584a1240106324cdd70e34900f34918f4a357733f851228b1a0b8",
        "train-00001-of-00003.tfrecord":
            "e9ca6cb4382d3f57165913154aca80ad54cd2c42cd8161345044706468be0f9a",
        "train-00002-of-00003.tfrecord":
            "ecfd07efa75fd7994b923d72805d9b05badbf0cef364d625c65e2ddac0a9210c",
        "val-00000-of-00006.tfrecord":
            "4a46c931ea112aede83e01ca644f624cca070a3f7682904f13af6957b96bf381",
        "val-00001-of-00006.tfrecord":
            "c5f8be4ef242d0525322870d75c5270acdc1b04e842e83d60b96e5319f728041",
        "val-00002-of-00006.tfrecord":
            "02b89fe1479b7bfae2f051aaca6a886114c11a99132d8efb613b6a1e9b5e4b3b",
        "val-00003-of-00006.tfrecord":
            "b10d776497a77a6a39ad4c1b3202d7c59846cf941bc72c16f9088ff8c78d4745",
        "val-00004-of-00006.tfrecord":
            "26baef3f0fbe6131b9cbe269523a21ad086eb9de270ac34c1f37e65fd5cbb70f",
        "val-00005-of-00006.tfrecord":
            "effa7261a93e9d2fe1ecf081bc2cd33d56007570f3d06dfa92700a658ac1666b",
        "videos.jsonl":
            "a5a5b55fc1f7691987c2114a72531760803efd0f28575e15af7258b3ee670166",
    },
    "gzip": {
        "failures.jsonl":
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "label_map.txt":
            "eb34e5fd75ff877c5e2c07eb660118227a69517ca1ae5c1238a6948fd3806c88",
        "manifest.json":
            "45e29c371493fed77bdff8b6bb9bd5d0a0ef0cbb68c4e749db47e951e3237287",
        "test-00000-of-00006.tfrecord.gz":
            "b945e58e0e497ff5249bbf7849731965c80879855ed5ab61721abf5b07e74315",
        "test-00001-of-00006.tfrecord.gz":
            "3b1d57c712fc0bcdb2059f8b611653daf957eb7afbd3097cd67e3d87f74bdd7d",
        "test-00002-of-00006.tfrecord.gz":
            "5d921014bb49bcd6b4b343cec8cba0d0f4ccb2ab32ca2a154e1d7562ebd6d577",
        "test-00003-of-00006.tfrecord.gz":
            "ead1db18f33050d94f4d80c407dd79b77fe146f0dfe3c40cce93971fedf0d51b",
        "test-00004-of-00006.tfrecord.gz":
            "7fabaabd55b2d2847c7d2d17ee6e266e58063c1765e13492bc63c3c1ffd27061",
        "test-00005-of-00006.tfrecord.gz":
            "09b73ad231abb7b94f8593c698c3d5b65443608739919ee7e8f56da88447d4e0",
        "train-00000-of-00003.tfrecord.gz":
            "c00878254b2a4d6322c781cc03d9a33e10d02fa3239f0b844863897e968245fc",
        "train-00001-of-00003.tfrecord.gz":
            "2bfe29ef05d1443f3db6dfa6414d101107c3d64231da6883019615fb1b5bf140",
        "train-00002-of-00003.tfrecord.gz":
            "266549fad8ac24163c062f91b953424d900fc5bcb7331defa69dedf52035dba1",
        "val-00000-of-00006.tfrecord.gz":
            "a2c4c47dbce670103a01e2d3e7794c814d907c94a555f76962eefcb77be37218",
        "val-00001-of-00006.tfrecord.gz":
            "19f3230fabfa0b050c78543ddde209f727f8bb80e5ba695322f428c948ff5fe0",
        "val-00002-of-00006.tfrecord.gz":
            "c9cacc6466d6601efc6d975e87ad10c5fc2fd4b9e7409cb1d9e4094ea9480f49",
        "val-00003-of-00006.tfrecord.gz":
            "018a93182d1438356f9c4cf9889ae0a9e5a9bad28e8e94583cdfd8ee78afb7b0",
        "val-00004-of-00006.tfrecord.gz":
            "fd8b36fe1b3faa2abbb181e10615b6cf6e9c60a6407d97d6bbe9d50041901cf3",
        "val-00005-of-00006.tfrecord.gz":
            "6ed2269abeb13ff45f252b7cae12d03f37e9ba1c1bc0075972bc53db44e4f89b",
        "videos.jsonl":
            "9259af3c05eb9f45c27012c3c8de014abae7f7a456e39e2012bc82a25b734771",
    },
}


@pytest.mark.parametrize("compression", sorted(GOLDEN))
def test_conversion_bytes_are_the_recorded_ones(tmp_path, monkeypatch, compression):
    monkeypatch.chdir(tmp_path)
    synth.generate(synth.SynthConfig("raw", classes=("grow", "shrink", "square"),
                                     clips_per_class=6, frames=8, size=32, clips_per_film=2))
    out = f"out_{compression}"
    assert convert.main(["--videos", "raw/videos", "--splits", "raw/splits", "--split", "1",
                         "--output", out, "--frame-size", "32", "--direct_num_workers", "1",
                         "--compression", compression]) == 0
    got = {name: hashlib.sha256(open(f"{out}/{name}", "rb").read()).hexdigest()
           for name in sorted(os.listdir(out))}
    assert got == GOLDEN[compression]
