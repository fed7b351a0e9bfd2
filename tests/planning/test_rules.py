"""Planning rules on hand-built fingerprints: street photos, EM slices, balanced and imbalanced
classes, 0/255 masks, tiny and huge images, memory and budget limits."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest

from colorseg.errors import ConfigError, DataError
from colorseg.planning.evidence import load_evidence
from colorseg.planning.rules import (
    MAX_CROP,
    ClassStats,
    Plan,
    choose_augment,
    choose_batch,
    choose_crop,
    choose_encoder,
    choose_loss,
    choose_schedule,
    choose_splits,
    estimate_memory_mib,
    estimate_speed,
    label_layout,
    max_time_text,
    plan_from_fingerprint,
    scheduler_choice,
    split_counts,
    up_direction,
    validation_seconds,
)
from tests.planning.helpers import em_fingerprint, fingerprint, split, street_fingerprint

EVIDENCE = load_evidence()


def _plan(fp, minutes=30.0, memory_gb=16.0, threads=1, **kw) -> Plan:
    return plan_from_fingerprint(fp, minutes, EVIDENCE, memory_gb, threads=threads, **kw)


def _classes(freqs: list[float], boundary: float = 0.1) -> list[ClassStats]:
    return [ClassStats(f"c{i}", f, 0.5, boundary, 1.0) for i, f in enumerate(freqs)]


# ------------------------------------------------------------------------------------ whole plans

def test_street_photos_get_a_pretrained_encoder_no_vertical_flips_and_dice_ce() -> None:
    plan = _plan(street_fingerprint())
    cfg = plan.as_config()
    best = max(EVIDENCE["benchmarks"]["camvid"]["variants"], key=lambda v: v["val_mean_iou"])
    assert cfg["model"]["encoder"] == best["encoder"] != "unet"
    assert cfg["model"]["encoder_weights"] == "imagenet"
    assert cfg["trainer"]["precision"] == best["precision"]
    assert cfg["data"]["augment"]["vflip_p"] == 0 and cfg["data"]["augment"]["rot90_p"] == 0
    assert cfg["data"]["augment"]["hflip_p"] == 0.5
    assert cfg["model"]["loss"] == "dice_ce" and len(cfg["model"]["class_weights"]) == 11
    assert cfg["data"]["crop_size"] == 160 and cfg["data"]["batch_size"] == 8
    assert cfg["data"]["ignore_index"] == 11 and cfg["data"]["in_channels"] == 3
    assert "test_fraction" not in cfg["data"] and "test_names" not in cfg["data"]  # predefined splits kept
    assert cfg["trainer"]["max_time"] == "00:00:30:00"
    assert cfg["model"]["scheduler"] == "cosine"
    assert any("vertical flips" in c and "Sky" in c and "Road" in c for c in plan.confirm)


def test_em_slices_get_the_from_scratch_unet_exact_geometric_augmentation_and_block_splits() -> None:
    plan = _plan(em_fingerprint(), minutes=10)
    cfg = plan.as_config()
    best = max(EVIDENCE["benchmarks"]["isbi2012"]["variants"], key=lambda v: v["val_mean_iou"])
    assert cfg["model"]["encoder"] == best["encoder"]
    aug = cfg["data"]["augment"]
    assert aug["vflip_p"] == 0.5 and aug["rot90_p"] == 0.5
    assert aug["elastic_p"] == 0 and aug["rotate_p"] == 0 and cfg["data"]["scale_range"] == [1.0, 1.0]
    assert cfg["data"]["mask_value_map"] == {0: 0, 255: 1} and cfg["data"]["in_channels"] == 1
    assert cfg["data"]["test_names"] == [str(i) for i in range(24, 30)]
    assert cfg["data"]["val_names"] == ["20", "21", "22", "23"]
    assert cfg["data"]["crop_size"] == MAX_CROP and cfg["data"]["batch_size"] == 4
    assert cfg["data"]["repeats"] == 2  # 20 training slices, batch 4: 10 steps per epoch
    assert cfg["model"]["loss"] == "dice_ce"
    assert cfg["model"]["scheduler"] == "plateau"  # from scratch
    assert cfg["trainer"]["max_time"] == "00:00:10:00"


def test_isbi_source_keeps_its_class_names_and_writes_its_map() -> None:
    cfg = _plan(em_fingerprint("isbi2012"), minutes=10).as_config()
    assert "class_names" not in cfg["data"]
    assert cfg["data"]["mask_value_map"] == {0: 0, 255: 1} and cfg["data"]["source"] == "isbi2012"


def test_zero_255_folder_maps_255_to_the_foreground_class() -> None:
    fp = fingerprint({0: 9000, 255: 1000}, channels=3)
    plan = _plan(fp, minutes=5)
    cfg = plan.as_config()
    assert cfg["data"]["mask_value_map"] == {0: 0, 255: 1}
    assert cfg["data"]["class_names"] == ["background", "foreground"]
    reasons = {c.key: c.reason for c in plan.choices}
    assert "every foreground pixel would be ignored" in reasons["data.mask_value_map"]


def test_every_choice_that_is_not_a_plain_default_has_a_reason() -> None:
    plain = {"trainer.accelerator", "trainer.devices", "data.source", "data.root"}
    for plan in (_plan(street_fingerprint()), _plan(em_fingerprint(), minutes=10)):
        augment = [c for c in plan.choices if c.key.startswith("data.augment.")]
        assert augment[0].reason  # one reason for the augmentation block
        for c in plan.choices:
            if c.key not in plain and not c.key.startswith("data.augment."):
                assert c.reason, c.key


def test_plan_value_and_as_config() -> None:
    plan = _plan(em_fingerprint(), minutes=10)
    assert plan.value("model.loss") == plan.as_config()["model"]["loss"]
    with pytest.raises(KeyError):
        plan.value("model.nothing")


# ------------------------------------------------------------------------------------ classes

def test_label_layout_index_masks_with_255_ignored() -> None:
    layout = label_layout(fingerprint({0: 50, 1: 30, 2: 20, 255: 5}))
    assert layout.mask_value_map is None and layout.ignore_present and layout.ignore_index == 255
    assert layout.class_names == ["class_0", "class_1", "class_2"]
    assert [round(c.frequency, 2) for c in layout.classes] == [0.5, 0.3, 0.2]
    assert "placeholders" in layout.names_reason


def test_label_layout_maps_values_that_are_not_indices() -> None:
    layout = label_layout(fingerprint({0: 50, 128: 30, 255: 20}))
    assert layout.mask_value_map == {0: 0, 128: 1, 255: 2} and len(layout.class_names) == 3
    assert not layout.ignore_present


def test_label_layout_uses_given_names_and_refuses_a_wrong_count() -> None:
    layout = label_layout(fingerprint({0: 50, 255: 5}), ["sea", "ship"])
    assert layout.class_names == ["sea", "ship"]
    with pytest.raises(ConfigError, match=r"--class-names gives 3 names \(a, b, c\) but the masks hold 2 classes"):
        label_layout(fingerprint({0: 50, 255: 5}), ["a", "b", "c"])
    with pytest.raises(ConfigError, match="camvid source has 11 classes"):
        label_layout(street_fingerprint(), ["a", "b"])


def test_label_layout_accepts_names_for_classes_missing_from_the_sample() -> None:
    layout = label_layout(fingerprint({0: 50, 1: 5}), ["bg", "a", "b"])
    assert layout.class_names == ["bg", "a", "b"] and layout.classes[2].frequency == 0


def test_label_layout_refuses_photo_like_and_jpeg_masks() -> None:
    photo = {v: 10 for v in range(200)}
    with pytest.raises(DataError, match="200 distinct values .* look like photos"):
        label_layout(fingerprint(photo))
    jpeg = {0: 10_000, 255: 10_000, **{v: 1 for v in range(1, 100)}}
    with pytest.raises(DataError, match="binary masks saved as JPEG"):
        label_layout(fingerprint(jpeg))


def test_label_layout_refuses_values_outside_a_sources_classes() -> None:
    with pytest.raises(DataError, match=r"values 17 outside its 11 classes"):
        label_layout(fingerprint({0: 5, 17: 5}, source="camvid"))


def test_only_ignore_values_are_refused() -> None:
    with pytest.raises(DataError, match="only the ignore value 255"):
        label_layout(fingerprint({255: 50}))


def test_a_class_missing_from_every_training_mask_is_refused() -> None:
    fp = fingerprint({0: 50, 1: 5})
    with pytest.raises(DataError, match="class c has no pixels"):
        _plan(fp, class_names=["a", "b", "c"])
    sampled = replace(fp, masks_total=1000)  # a sample: a warning, fit decides
    assert any("class c has no pixels" in w for w in _plan(sampled, class_names=["a", "b", "c"]).warnings)


# ------------------------------------------------------------------------------------ encoder

def test_encoder_follows_the_evidence_not_a_fixed_table() -> None:
    evidence = copy.deepcopy(EVIDENCE)
    for v in evidence["benchmarks"]["camvid"]["variants"]:
        v["val_mean_iou"] = 0.9 if v["encoder"] == "efficientnet_lite2" else 0.1
    enc = choose_encoder(street_fingerprint(), evidence)
    assert enc.encoder == "efficientnet_lite2" and "0.900" in enc.reason
    assert "colorseg-efficientnet_lite2" in enc.reason


def test_gray_images_follow_the_gray_benchmark() -> None:
    enc = choose_encoder(em_fingerprint(), EVIDENCE)
    best = max(EVIDENCE["benchmarks"]["isbi2012"]["variants"], key=lambda v: v["val_mean_iou"])
    assert enc.encoder == best["encoder"] and "ISBI 2012" in enc.reason
    assert enc.stride == (2 ** enc.depth if enc.encoder == "unet" else 32)


def test_tiny_images_get_a_shallow_from_scratch_unet_and_whole_image_sized_crops() -> None:
    fp = fingerprint({0: 500, 1: 400}, splits={"pool": split(40, 24, 24)})
    enc = choose_encoder(fp, EVIDENCE)
    assert enc.encoder == "unet" and enc.depth == 2 and enc.stride == 4 and "tiny" in enc.reason
    crop, why = choose_crop(fp, enc.stride)
    assert crop == 24 and "stride 4" in why
    assert choose_crop(fp, 32)[0] is None  # smaller than one stride: whole images


def test_huge_images_are_cropped_at_256_with_a_warning() -> None:
    fp = fingerprint({0: 500, 1: 400}, splits={"pool": split(20, 3000, 4000)})
    crop, why = choose_crop(fp, 32)
    assert crop == MAX_CROP and "capped at 256" in why
    plan = _plan(fp, memory_gb=64)
    assert any("downscale" in w for w in plan.warnings)
    # fit keeps every decoded training and validation image in memory: 20 of 12 MP are ~4 GiB
    with pytest.raises(ConfigError, match="decoded training and validation images"):
        _plan(fp, memory_gb=4)


def test_crop_is_a_multiple_of_the_stride() -> None:
    fp = fingerprint({0: 1, 1: 1}, splits={"pool": split(10, 181, 250)})
    assert choose_crop(fp, 32)[0] == 160 and choose_crop(fp, 16)[0] == 176


# ------------------------------------------------------------------------------------ speed, memory, batch

def test_speed_scales_with_pixels_threads_and_width() -> None:
    enc = choose_encoder(em_fingerprint(), EVIDENCE)
    base = estimate_speed(EVIDENCE, enc, 160 * 160, 2)
    assert estimate_speed(EVIDENCE, enc, 320 * 320, 2) == pytest.approx(base / 4)
    assert estimate_speed(EVIDENCE, enc, 160 * 160, 1) == pytest.approx(base / 2)
    assert estimate_speed(EVIDENCE, enc, 160 * 160, 16) == pytest.approx(base)  # not assumed faster
    if enc.encoder == "unet":
        wide = replace(enc, base_width=enc.base_width * 2)
        assert estimate_speed(EVIDENCE, wide, 160 * 160, 2) == pytest.approx(base / 4)
    assert validation_seconds(EVIDENCE, enc, 2e6, 1) == pytest.approx(2 * validation_seconds(EVIDENCE, enc, 1e6, 1))


def test_memory_grows_with_batch_and_cache() -> None:
    enc = choose_encoder(street_fingerprint(), EVIDENCE)
    small = estimate_memory_mib(EVIDENCE, enc, 2, 160 * 160, 100, 43200)
    assert estimate_memory_mib(EVIDENCE, enc, 8, 160 * 160, 100, 43200) > small
    assert estimate_memory_mib(EVIDENCE, enc, 2, 160 * 160, 600, 43200) == pytest.approx(small + 500)


def test_batch_halves_to_fit_memory_and_refuses_when_nothing_fits() -> None:
    enc = choose_encoder(street_fingerprint(), EVIDENCE)
    roomy, est, why = choose_batch(EVIDENCE, enc, 160 * 160, 367, 16.0, 400, 43200)
    assert roomy == 8 and "2^18 pixels" in why and est < 16 * 1024
    needed = estimate_memory_mib(EVIDENCE, enc, 4, 160 * 160, 400, 43200)
    tight, _, why = choose_batch(EVIDENCE, enc, 160 * 160, 367, (needed + 10) / 1024 / 0.75, 400, 43200)
    assert tight == 4 and "halved" in why
    with pytest.raises(ConfigError, match=r"--memory-gb 0\.5: training needs about"):
        choose_batch(EVIDENCE, enc, 160 * 160, 367, 0.5, 400, 43200)


def test_batch_is_at_most_the_training_images() -> None:
    enc = choose_encoder(em_fingerprint(), EVIDENCE)
    batch, _, why = choose_batch(EVIDENCE, enc, 32 * 32, 5, 16.0, 1, 1024)
    assert batch == 4 and "at most the 5 training images" in why


# ------------------------------------------------------------------------------------ loss

def test_balanced_classes_get_plain_cross_entropy() -> None:
    loss, weights, why = choose_loss(_classes([0.4, 0.35, 0.25]))
    assert loss == "ce" and weights is None and "balanced" in why


def test_imbalanced_or_thin_classes_get_dice_ce_without_weights() -> None:
    loss, weights, why = choose_loss(_classes([0.9, 0.1]))
    assert loss == "dice_ce" and weights is None and "largest/smallest class frequency 9.0" in why
    loss, weights, why = choose_loss(_classes([0.5, 0.5], boundary=0.8))
    assert loss == "dice_ce" and weights is None and "thin classes" in why


def test_very_rare_classes_get_inverse_sqrt_class_weights() -> None:
    freqs = [0.9, 0.0995, 0.0005]
    loss, weights, why = choose_loss(_classes(freqs))
    assert loss == "dice_ce" and "c2" in why and "1/" in why
    assert weights[0] < weights[1] < weights[2] == 10.0  # the rare class's weight is capped
    assert weights[1] / weights[0] == pytest.approx((0.9 / 0.0995) ** 0.5, rel=0.01)
    raw = [f ** -0.5 for f in freqs]  # before the cap: pixel-weighted mean 1
    assert weights[0] == pytest.approx(raw[0] / sum(f * r for f, r in zip(freqs, raw)), abs=0.001)


def test_class_weights_are_capped() -> None:
    _, weights, _ = choose_loss(_classes([0.99999, 0.00001]))
    assert max(weights) == 10.0


def test_camvid_like_frequencies_get_inverse_sqrt_weights() -> None:
    """CamVid's rare classes (Pedestrian 0.7 %, Bicyclist 0.3 %) are under RARE_FREQUENCY: weights
    (they raised CamVid's validation mean IoU), largest for the rarest class, smallest for Road."""
    layout = label_layout(street_fingerprint())
    loss, weights, why = choose_loss(layout.classes)
    names = [c.name for c in layout.classes]
    assert loss == "dice_ce" and weights is not None and len(weights) == len(names)
    assert names[weights.index(max(weights))] == "Bicyclist" and names[weights.index(min(weights))] == "Road"
    assert "Bicyclist" in why and "1/√frequency" in why


def test_scheduler_is_cosine_for_pretrained_encoders_and_plateau_from_scratch() -> None:
    assert scheduler_choice(True).value == "cosine" and "budget" in scheduler_choice(True).reason
    assert scheduler_choice(False).value == "plateau"


# ------------------------------------------------------------------------------------ augmentation

def test_up_direction_from_class_heights() -> None:
    street = street_fingerprint()
    upright, why = up_direction(street, label_layout(street).classes)
    assert upright and "Sky at 16%" in why and "Road at 82%" in why
    em = em_fingerprint()
    upright, why = up_direction(em, label_layout(em).classes)
    assert not upright and "gray images, and the classes' mean heights differ by only" in why


def test_colour_photos_are_assumed_upright_and_say_so() -> None:
    fp = fingerprint({0: 50, 255: 50}, {0: 0.5, 255: 0.5}, channels=3)
    aug, scale, _, confirm = choose_augment(fp, label_layout(fp).classes)
    assert aug["vflip_p"] == 0 and "usually have an up direction" in confirm and "rot90_p to 0.5" in confirm
    assert scale == [0.75, 1.25]


def test_gray_upright_images_get_no_vertical_flips() -> None:
    fp = fingerprint({0: 50, 1: 50}, {0: 0.2, 1: 0.8}, channels=1)
    aug, _, _, _ = choose_augment(fp, label_layout(fp).classes)
    assert aug["vflip_p"] == 0 and aug["rot90_p"] == 0


def test_gray_orientation_free_images_get_flips_and_turns_without_resampling() -> None:
    fp = fingerprint({0: 50, 1: 50}, channels=3)
    # the same masks in colour: assumed upright, for the user to confirm
    assert choose_augment(fp, label_layout(fp).classes)[0]["vflip_p"] == 0
    gray = replace(fp, channels=1)
    aug, scale, _, confirm = choose_augment(gray, label_layout(gray).classes)
    assert aug["vflip_p"] == 0.5 and aug["rot90_p"] == 0.5 and scale == [1.0, 1.0]
    assert aug["elastic_p"] == 0 and aug["rotate_p"] == 0
    assert "set data.augment.vflip_p and rot90_p to 0" in confirm


# ------------------------------------------------------------------------------------ splits

@pytest.mark.parametrize("n,expected", [(3, (1, 1)), (6, (1, 1)), (30, (6, 4)), (100, (20, 15)),
                                        (2000, (200, 200))])
def test_split_counts(n: int, expected: tuple[int, int]) -> None:
    assert split_counts(n) == expected


def test_too_few_pairs_are_refused() -> None:
    with pytest.raises(DataError, match="at least 3 image/mask pairs"):
        split_counts(2)


def test_random_fractions_for_unnumbered_pools() -> None:
    fp = fingerprint({0: 5, 1: 5}, splits={"pool": split(100, 64, 64)})
    choices, sizes, why = choose_splits(fp)
    assert {c.key: c.value for c in choices} == {"data.test_fraction": 0.2, "data.val_fraction": 0.15}
    assert sizes == {"test": 20, "val": 15, "train": 65} and "seeded" in why


def test_partial_predefined_splits_keep_what_exists() -> None:
    fp = fingerprint({0: 5, 1: 5}, splits={"test": split(20, 64, 64), "pool": split(80, 64, 64)})
    choices, sizes, why = choose_splits(fp)
    assert [c.key for c in choices] == ["data.val_fraction"]
    assert sizes["test"] == 20 and "predefined test split kept" in why


# ------------------------------------------------------------------------------------ schedule and budget

@pytest.mark.parametrize("minutes,text", [(30, "00:00:30:00"), (0.5, "00:00:00:30"), (90, "00:01:30:00"),
                                          (1500, "01:01:00:00")])
def test_max_time_text(minutes: float, text: str) -> None:
    assert max_time_text(minutes) == text


@pytest.mark.parametrize("minutes", [0, -5, float("nan"), float("inf"), 0.001])
def test_bad_budgets_are_refused(minutes: float) -> None:
    with pytest.raises(ConfigError, match="--minutes"):
        max_time_text(minutes)


def test_schedule_validates_about_25_times_by_epoch() -> None:
    sched = choose_schedule(30, 367, 8, 10.0, 4.0)
    assert sched.check_val_every_n_epoch == 2 and sched.val_check_interval is None
    assert sched.repeats == 1 and sched.log_every_n_steps == 20 and sched.validations == 25


def test_schedule_repeats_tiny_sets() -> None:
    sched = choose_schedule(10, 20, 4, 9.0, 1.0)
    assert sched.repeats == 2 and sched.check_val_every_n_epoch == 5 and sched.log_every_n_steps == 10


def test_schedule_validates_by_steps_when_the_budget_holds_few_epochs() -> None:
    sched = choose_schedule(10, 100_000, 8, 10.0, 2.0)
    assert sched.check_val_every_n_epoch is None and sched.val_check_interval >= 1
    plan = _plan(fingerprint({0: 5, 1: 5}, splits={"pool": split(100_000, 64, 64)}), minutes=2)
    cfg = plan.as_config()["trainer"]
    assert cfg["check_val_every_n_epoch"] is None and cfg["val_check_interval"] >= 1
    assert any("less than one epoch" in w for w in plan.warnings)


def test_slow_validation_means_fewer_validations_and_a_warning() -> None:
    sched = choose_schedule(10, 100, 4, 10.0, 60.0)
    assert sched.validations == 1
    fp = fingerprint({0: 5, 1: 5}, splits={"train": split(10, 3000, 4000), "val": split(80, 3000, 4000),
                                           "test": split(10, 3000, 4000)})
    assert any("one validation takes" in w for w in _plan(fp, minutes=10, memory_gb=64).warnings)


def test_plan_refuses_bad_memory_and_threads() -> None:
    with pytest.raises(ConfigError, match="--memory-gb must be a positive"):
        _plan(em_fingerprint(), memory_gb=0)
    with pytest.raises(ConfigError, match="--threads must be at least 1"):
        _plan(em_fingerprint(), threads=0)
