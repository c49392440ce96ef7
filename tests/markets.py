"""A small realistic market for matching tests: Chinese and English offers of steel, hydrogen and cement,
stated in different units, some verified and some not, from CN100 members and outsiders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy.orm import Session

from matchmaker.db.models import Alliance, Membership, Offer
from tests.factories import Party, make_offer, make_party

# A need (API body) that the market's scrap-based rebar fits and its blast-furnace rebar does not.
METRO_REBAR_NEED = {
    "text": "Low-carbon rebar HRB400E for a metro line, scrap-based electric arc furnace route",
    "category": "steel",
    "max_pcf": 0.8,
    "max_pcf_unit": "tCO2e/t",
}


@dataclass
class Market:
    operator: Party
    eaf_steel: Party  # CN100
    bof_steel: Party  # CN100
    zh_steel: Party  # CN100, a Chinese mill without third-party verification
    outsider_steel: Party  # not a member of any alliance
    hydrogen: Party  # CN100
    cement: Party  # CN100
    buyer: Party  # CN100 and the buyers' club
    other_buyer: Party  # no alliance
    cn100: Alliance
    club: Alliance  # an alliance of buyers only
    offers: dict[str, Offer] = field(default_factory=dict)


def _member(session: Session, party: Party, alliance: Alliance) -> None:
    session.add(Membership(organisation_id=party.id, alliance_id=alliance.id, status="active"))


@pytest.fixture
def market(session: Session) -> Market:
    operator = make_party(session, name="Platform", kind="operator", role="operator")
    parties = {
        "eaf_steel": make_party(session, name="Jiangsu Green Steel", kind="vendor", role="vendor"),
        "bof_steel": make_party(session, name="Northern Blast Furnace Co", kind="vendor", role="vendor"),
        "zh_steel": make_party(session, name="江苏短流程钢铁有限公司", kind="vendor", role="vendor"),
        "outsider_steel": make_party(session, name="Rhine Electric Steel GmbH", kind="vendor", role="vendor"),
        "hydrogen": make_party(session, name="内蒙古绿氢能源有限公司", kind="vendor", role="vendor"),
        "cement": make_party(session, name="安徽低碳水泥有限公司", kind="vendor", role="vendor"),
        "buyer": make_party(session, name="Metro Rail Procurement", kind="buyer", role="buyer"),
        "other_buyer": make_party(session, name="Harbour Works Procurement", kind="buyer", role="buyer"),
    }
    cn100 = Alliance(code="CN100", name="China 100 low-carbon alliance", admin_organisation_id=None)
    club = Alliance(code="BUYCLUB", name="Green buyers' club", admin_organisation_id=None)
    session.add_all([cn100, club])
    session.flush()
    for name in ("eaf_steel", "bof_steel", "zh_steel", "hydrogen", "cement", "buyer"):
        _member(session, parties[name], cn100)
    _member(session, parties["buyer"], club)
    market = Market(
        operator=operator,
        eaf_steel=parties["eaf_steel"],
        bof_steel=parties["bof_steel"],
        zh_steel=parties["zh_steel"],
        outsider_steel=parties["outsider_steel"],
        hydrogen=parties["hydrogen"],
        cement=parties["cement"],
        buyer=parties["buyer"],
        other_buyer=parties["other_buyer"],
        cn100=cn100,
        club=club,
    )

    def offer(key: str, owner: Party, **values: Any) -> None:
        market.offers[key] = make_offer(session, owner=owner.organisation, external_id=key, **values)

    offer(
        "eaf-rebar",
        market.eaf_steel,
        title="Scrap-based EAF rebar HRB400E",
        description="Hot-rolled ribbed reinforcing bar from 100% scrap melted in an electric arc furnace "
        "(short process route), for rail and building projects. Verified footprint 0.62 tCO2e/t.",
        pcf_value=0.62,
        pcf_unit="tCO2e/t",
        region="Jiangsu",
    )
    offer(
        "bof-rebar",
        market.bof_steel,
        title="Rebar HRB400 from the blast furnace route",
        description="Reinforcing bar from an integrated BF-BOF mill; footprint 2.1 tCO2e/t, verified.",
        pcf_value=2.1,
        pcf_unit="tCO2e/t",
        region="Hebei",
    )
    offer(
        "zh-rebar",
        market.zh_steel,
        title="电炉短流程螺纹钢 HRB400E",
        description="以废钢为原料的电弧炉短流程热轧带肋钢筋，自评碳足迹550 kgCO2e/t，尚未经第三方核查。",
        language="zh",
        pcf_value=550,
        pcf_unit="kgCO2e/t",
        pcf_verified=False,
        standard=None,
        region="Jiangsu",
    )
    offer(
        "outsider-rebar",
        market.outsider_steel,
        title="Low-carbon EAF rebar B500B",
        description="Reinforcing steel bar made in an electric arc furnace from scrap with renewable "
        "power. Verified 0.45 tCO2e/t.",
        pcf_value=0.45,
        pcf_unit="tCO2e/t",
        region="Germany",
    )
    offer(
        "green-h2",
        market.hydrogen,
        title="风电电解水制绿氢",
        description="碱性电解槽以风电制取氢气，管束车交付，经核查碳足迹1.1 kgCO2e/kg。",
        language="zh",
        category="hydrogen",
        pcf_value=1.1,
        pcf_unit="kgCO2e/kg",
        region="Inner Mongolia",
    )
    offer(
        "lc-cement",
        market.cement,
        title="低碳普通硅酸盐水泥 P·O 42.5",
        description="掺加矿渣和粉煤灰、替代燃料煅烧的低熟料水泥，经核查碳足迹0.45 tCO2e/t。",
        language="zh",
        category="cement_concrete",
        pcf_value=0.45,
        pcf_unit="tCO2e/t",
        region="Anhui",
    )
    session.commit()
    return market
