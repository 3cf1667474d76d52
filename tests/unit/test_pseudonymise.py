"""NHS numbers: modulus-11 check digits, the reserved test range; keyed, stable pseudonyms."""

import os
import stat

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from phta.cdm.pseudonymise import (
    KEY_ENV_VAR,
    NHSNumberError,
    Pseudonymiser,
    check_digit,
    invalid_positions,
    load_key,
    reserved_range_nhs_numbers,
    validate_nhs_number,
)


def test_known_valid_number_from_the_nhs_data_dictionary_example():
    # 943 476 5919 is the NHS Data Dictionary's worked example of a valid number.
    assert validate_nhs_number("943 476 5919") == "9434765919"
    assert check_digit("943476591") == 9


@pytest.mark.parametrize("bad", ["9434765918", "943476591", "94347659190", "94347a5919"])
def test_invalid_numbers_are_rejected_without_echoing_them(bad):
    with pytest.raises(NHSNumberError) as e:
        validate_nhs_number(bad, where="row 3, field nhs_number")
    assert "row 3, field nhs_number" in str(e.value)
    assert bad not in str(e.value)


def test_test_range_numbers_are_valid_distinct_and_in_the_reserved_range():
    nums = reserved_range_nhs_numbers(5000)
    assert len(set(nums.tolist())) == 5000
    assert nums.min() >= 9_990_000_000
    assert invalid_positions(nums).size == 0
    for n in nums[:200]:
        validate_nhs_number(str(n))
    # chunked calls continue the same sequence
    assert np.array_equal(reserved_range_nhs_numbers(100, 4900), nums[4900:])


@given(st.integers(min_value=0, max_value=999_999_999))
def test_vectorised_check_agrees_with_the_scalar_check(first_nine):
    digits = f"{first_nine:09d}"
    cd = check_digit(digits)
    if cd is not None and digits[0] != "0":
        assert invalid_positions(np.array([int(digits + str(cd))])).size == 0
        assert invalid_positions(np.array([int(digits + str((cd + 1) % 10))])).size == 1


def test_pseudonyms_are_stable_keyed_and_hide_the_key():
    nums = reserved_range_nhs_numbers(3)
    a = Pseudonymiser(b"a" * 32)
    b = Pseudonymiser(b"b" * 32)
    assert a.pseudonyms(nums) == Pseudonymiser(b"a" * 32).pseudonyms(nums)
    assert a.pseudonyms(nums) != b.pseudonyms(nums)
    assert a.pseudonym(str(nums[0])) == a.pseudonyms(nums)[0]
    assert len(a.pseudonyms(nums)[0]) == 64
    assert "a" * 32 not in repr(a) and "hidden" in repr(a)
    with pytest.raises(NHSNumberError):
        a.pseudonyms(np.array([9434765918]))


def test_key_file_is_created_0600_and_reused(tmp_path):
    key = load_key(tmp_path, env={})
    path = tmp_path / "keys" / "linkage.key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_key(tmp_path, env={}) == key and len(key) == 32


def test_key_from_environment(tmp_path):
    assert load_key(tmp_path, env={KEY_ENV_VAR: "ab" * 16}) == bytes.fromhex("ab" * 16)
    assert not (tmp_path / "keys").exists()
    with pytest.raises(ValueError, match=KEY_ENV_VAR):
        load_key(tmp_path, env={KEY_ENV_VAR: "zz"})


def test_regions_larger_than_the_test_range_continue_into_unallocated_9xx_stems():
    nums = reserved_range_nhs_numbers(1_000_000)
    assert invalid_positions(nums).size == 0
    assert np.unique(nums).size == nums.size
    in_test_range = nums >= 9_990_000_000
    assert in_test_range[:900_000].all() and not in_test_range[-1]
    assert (nums // 10_000_000 >= 900).all()  # every stem begins 9xx
