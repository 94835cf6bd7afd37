"""Attribution rules, on the seed's sentences and on sentences written for each rule."""

from __future__ import annotations

import pytest

from bot.attribution import Attributor, find_attribution, mask_quotes
from bot.corpus import load_article
from bot.passages import split_article
from tests.conftest import SEED_FILE


@pytest.fixture(scope="module")
def seed_speakers() -> dict[str, str]:
    """First 40 characters of each seed sentence → its speaker label."""
    return {s.text[:40]: s.speaker.label for p in split_article(load_article(SEED_FILE)) for s in p.sentences}


@pytest.mark.parametrize(
    ("start", "speaker"),
    [
        ("The Syrian regime armed forces chief of ", "Syrian regime armed forces chief of staff, via state media"),
        (
            'The operation aims to "liberate areas an',
            "Lieutenant General Ali Abdullah Ayoub, via Syrian state television",
        ),
        ("Meanwhile, Russian warplanes, and most r", "TRT World and agencies"),
        ("Eyewitnesses and locals suggest that the", "Eyewitnesses and locals"),
        ("Wednesday’s massive wave of Russian air ", "SOHR (Syrian Observatory for Human Rights)"),
        ("Over 40 air strikes showered over Idlib ", "SOHR (Syrian Observatory for Human Rights)"),
        ("The number of civilian casualties as a r", "TRT World and agencies"),
        ("However, the Orient news says 9 civilian", "Orient news"),
        ("According to media reports, dozens were ", "media reports"),
        ("And on early Thursday, the Syrian-Russia", "SOHR and rebels on the ground, via Reuters"),
        # The bare "he said" takes the nearest named source before it.
        ('"Thirteen regime forces were killed. The', "SOHR and rebels on the ground, via Reuters"),
        ("Russia and Iran have been backing the Sy", "TRT World and agencies"),
        ("A civil defence member gathers unexplode", "Photo caption (Reuters)"),
    ],
)
def test_seed_sentences(seed_speakers: dict[str, str], start: str, speaker: str):
    assert seed_speakers[start] == speaker


@pytest.mark.parametrize(
    ("sentence", "name", "via", "rule"),
    [
        ("Prices rose by 4%, the central bank said on Tuesday.", "central bank", None, "closing"),
        ("The talks failed, Ahmed Karim told Reuters.", "Ahmed Karim", "Reuters", "closing"),
        ('"We will rebuild," Mayor Ana Lopez said.', "Mayor Ana Lopez", None, "closing"),
        ("The fire was contained, said fire chief Tom Reed.", "fire chief Tom Reed", None, "inverted"),
        ("Witnesses say the convoy left at dawn.", "Witnesses", None, "opening"),
        ("Analysts suggest the deal will hold.", "Analysts", None, "opening"),
        ("The ministry confirmed that two ships had docked.", "ministry", None, "opening"),
        ("According to the UN, 3,000 people fled.", "UN", None, "according-to"),
        ("They found shells that residents say came from the north.", "residents", None, "clause"),
        (
            "The minister said in comments carried by state television that talks would resume.",
            "minister",
            "state television",
            "opening",
        ),
    ],
)
def test_rules_on_written_sentences(sentence: str, name: str, via: str | None, rule: str):
    speaker = find_attribution(sentence)
    assert speaker is not None
    assert (speaker.name, speaker.via, speaker.rule) == (name, via, rule)


@pytest.mark.parametrize(
    "sentence",
    [
        "The bridge was closed for repairs on Monday.",
        "The number of casualties is yet to be confirmed in the city.",
        '"Nobody said anything," was the headline.',
    ],
)
def test_no_attribution_where_none_is_given(sentence: str):
    assert find_attribution(sentence) is None


def test_verbs_inside_quotes_are_masked():
    assert mask_quotes('"He said no," she said.') == '"xx xxxx xxx" she said.'


def test_pronoun_resolves_to_nearest_named_source_and_quote_spans_sentences():
    attributor = Attributor("Example News")
    first = attributor.paragraph(["The mayor, Ana Lopez, spoke first.", "Rescue teams arrived, police said."])
    assert [s.label for s in first] == ["Example News", "police"]
    second = attributor.paragraph(['"Nobody was hurt.', 'The road is open," she said.'])
    assert [s.name for s in second] == ["police", "police"]
    assert second[0].said_as == "she" and second[0].rule == "pronoun"


def test_pronoun_with_no_earlier_source_falls_back_to_publisher():
    assert Attributor("Example News").paragraph(['"It is over," he said.'])[0].label == "Example News"


def test_acronym_introduced_once_is_expanded_later():
    attributor = Attributor("Example News")
    attributor.paragraph(["Clashes continued, the World Health Organization (WHO) said."])
    later = attributor.paragraph(["Supplies ran low, WHO said on Friday."])[0]
    assert later.label == "WHO (World Health Organization)"


@pytest.mark.parametrize(
    ("sentence", "name"),
    [
        ('"It fell," Petra Holm, who was driving across, told Reuters.', "Petra Holm"),
        ("A source at the agency who asked not to be named said repairs were postponed.", "source at the agency"),
        (
            "A senior official, speaking on condition of anonymity, told Reuters that police had left.",
            "senior official",
        ),
        ('"The water came up," Daud Rahimi, a farmer from Orvell, told AFP.', "Daud Rahimi"),
        ("Marta Kessel, general secretary of the Dockers' Union, said the offer was an insult.", "Marta Kessel"),
        ("“We left with the dog,” said Giulia Ferro, a teacher from San Lio.", "Giulia Ferro"),
        (
            'The Growers\' Association said the quota was "a door" and warned that prices would rise.',
            "Growers' Association",
        ),
    ],
)
def test_asides_between_a_source_and_its_verb_are_skipped(sentence: str, name: str):
    speaker = find_attribution(sentence)
    assert speaker is not None and speaker.name == name


def test_short_forms_take_the_name_used_first():
    attributor = Attributor("Example News")
    attributor.paragraph(["Cases rose, the health ministry said.", "Fire chief Anna Ricci said crews were tired."])
    later = attributor.paragraph(["Schools closed, the ministry said.", "Seven were treated, Ricci added."])
    assert [s.name for s in later] == ["health ministry", "Fire chief Anna Ricci"]


def test_she_means_the_last_person_not_the_last_organisation():
    attributor = Attributor("Example News")
    attributor.paragraph(["Transport minister Karin Aalto visited the site on Tuesday."])
    attributor.paragraph(["The weather office said rain would continue."])
    assert (
        attributor.paragraph(["She said every bridge would be inspected."])[0].name == "Transport minister Karin Aalto"
    )


def test_a_quotation_standing_alone_continues_the_last_quoted_speaker():
    attributor = Attributor("Example News")
    attributor.paragraph(['"The water came up fast," Daud Rahimi told AFP.'])
    assert attributor.paragraph(['"We waited on the roof for morning."'])[0].name == "Daud Rahimi"
