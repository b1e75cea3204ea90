from core.areas import AreaLevel, AreaTree, contains, read_reference_areas

TREE = AreaTree(read_reference_areas())
PARENTS = {"440300": None, "440304": "440300", "440304001": "440304", "440305": "440300"}


def test_an_area_contains_itself():
    assert contains("440304", "440304", PARENTS)


def test_the_city_contains_its_districts_and_their_streets():
    assert contains("440300", "440304", PARENTS)
    assert contains("440300", "440304001", PARENTS)


def test_a_district_contains_its_streets_but_not_its_neighbours():
    assert contains("440304", "440304001", PARENTS)
    assert not contains("440304", "440305", PARENTS)


def test_a_street_does_not_contain_its_district():
    assert not contains("440304001", "440304", PARENTS)


def test_unknown_codes_are_contained_by_nothing_and_contain_nothing():
    assert not contains("440300", "999999", PARENTS)
    assert not contains("999999", "999999", PARENTS)


def test_reference_data_has_one_city_nine_districts_and_seventy_nine_streets():
    levels = [r.level for r in TREE.by_code.values()]
    assert levels.count(AreaLevel.CITY) == 1
    assert levels.count(AreaLevel.DISTRICT) == 9
    assert levels.count(AreaLevel.STREET) == 79


def test_every_street_code_extends_its_district_code():
    for record in TREE.by_code.values():
        if record.level is AreaLevel.STREET:
            assert record.code.startswith(record.parent_code) and len(record.code) == 9


def test_descendants_of_futian_are_futian_and_its_ten_units():
    futian = TREE.descendants("440304")
    assert "440304" in futian and all(c.startswith("440304") for c in futian)
    assert len(futian) == 1 + 10 + 1  # 10 streets and the Futian Free Trade Zone (440304400)


def test_path_runs_from_the_city_down():
    assert [r.code for r in TREE.path("440304400")] == ["440300", "440304", "440304400"]


def test_every_reference_street_code_starts_with_its_districts_code():
    # passes/review.py counts the queue per district from the scope codes alone, relying on this.
    streets = [r for r in read_reference_areas() if r.level is AreaLevel.STREET]
    assert streets and all(r.code[:6] == r.parent_code and len(r.code) == 9 for r in streets)
