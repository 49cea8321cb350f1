"""Words the demo generator draws from: donors, titles, indicators, places, narratives.

Reference rows (priorities, countries, offices, standard indicators, periods) are read from
the database; only what is the demo's own lives here. Keys such as ``SP1`` or ``UKR`` tune the
draw (weights, wording); a code missing here falls back to a generic choice, so admins who
edit reference data do not break the demo.
"""

from __future__ import annotations

# code, name, weight, where (ISO3 or subregion codes; empty = anywhere). 36 in all: governments,
# EU instruments, foundations and UN pooled funds, not implementing agencies.
DONORS: tuple[tuple[str, str, int, tuple[str, ...]], ...] = (
    ("ECHO", "European Commission – Civil Protection and Humanitarian Aid Operations (ECHO)", 6, ()),
    ("EU-NEAR", "European Commission – DG Neighbourhood and Enlargement Negotiations (DG NEAR)", 6,
     ("WB", "EE", "SC", "TUR")),
    ("EU-INTPA", "European Commission – DG International Partnerships (INTPA)", 3, ("CA", "SC")),
    ("EU-HOME", "European Commission – DG Migration and Home Affairs (AMIF)", 3, ("WB", "TUR")),
    ("EU-FPI", "European Commission – Service for Foreign Policy Instruments (FPI)", 2, ()),
    ("USAID", "United States Agency for International Development", 5, ()),
    ("BPRM", "U.S. Department of State – Bureau of Population, Refugees, and Migration", 5, ()),
    ("US-JTIP", "U.S. Department of State – Office to Monitor and Combat Trafficking in Persons", 2, ()),
    ("US-INL", "U.S. Department of State – Bureau of International Narcotics and Law Enforcement Affairs",
     2, ()),
    ("FCDO", "United Kingdom – Foreign, Commonwealth & Development Office", 4, ()),
    ("UK-HO", "United Kingdom – Home Office", 2, ("WB", "TUR")),
    ("SDC", "Switzerland – Swiss Agency for Development and Cooperation", 3, ()),
    ("CH-SEM", "Switzerland – State Secretariat for Migration", 2, ("WB", "TUR")),
    ("SIDA", "Sweden – Swedish International Development Cooperation Agency", 2, ()),
    ("NORAD", "Norway – Norwegian Agency for Development Cooperation", 2, ()),
    ("NO-MFA", "Norway – Ministry of Foreign Affairs", 2, ()),
    ("GIZ-BMZ", "Germany – Federal Ministry for Economic Cooperation and Development (BMZ), through GIZ",
     3, ()),
    ("DE-GFFO", "Germany – Federal Foreign Office", 3, ()),
    ("JP-GOV", "Government of Japan", 3, ()),
    ("AT-ADA", "Austria – Austrian Development Agency", 2, ()),
    ("AT-BMI", "Austria – Federal Ministry of the Interior", 1, ("WB",)),
    ("NL-MFA", "Netherlands – Ministry of Foreign Affairs", 2, ()),
    ("DK-MFA", "Denmark – Ministry of Foreign Affairs (Danida)", 1, ()),
    ("FI-MFA", "Finland – Ministry for Foreign Affairs", 1, ()),
    ("IT-MAECI", "Italy – Ministry of Foreign Affairs and International Cooperation", 2, ()),
    ("CA-GAC", "Canada – Global Affairs Canada", 2, ()),
    ("KOICA", "Republic of Korea – Korea International Cooperation Agency", 1, ("CA",)),
    ("CZ-CZDA", "Czech Republic – Czech Development Agency", 1, ()),
    ("PL-MFA", "Poland – Ministry of Foreign Affairs (Polish Aid)", 1, ("EE", "SC")),
    ("OSF", "Open Society Foundations", 1, ()),
    ("RBS", "Robert Bosch Stiftung", 1, ("WB", "TUR")),
    ("CERF", "United Nations Central Emergency Response Fund (CERF)", 2, ()),
    ("UHF", "Ukraine Humanitarian Fund (OCHA country-based pooled fund)", 4, ("UKR",)),
    ("M-MPTF", "Migration Multi-Partner Trust Fund", 1, ()),
    ("UNTFHS", "United Nations Trust Fund for Human Security", 1, ("CA",)),
    ("PBF", "United Nations Peacebuilding Fund", 1, ()),
)

# Project-count weights per lead country: large offices run many projects, small ones few.
COUNTRY_WEIGHTS = {
    "UKR": 14, "TUR": 12, "BIH": 9, "SRB": 7, "KGZ": 7, "MDA": 6, "XKX": 5, "GEO": 5,
    "TJK": 5, "UZB": 5, "ALB": 4, "MKD": 4, "KAZ": 4, "MNE": 3, "ARM": 3, "AZE": 3,
    "BLR": 3, "RUS": 2, "TKM": 2, "ISR": 1,
}
PRIORITY_WEIGHTS = {"SP1": 35, "SP2": 25, "SP3": 20, "SP4": 20}

# {place} is a country name or a list of them.
TITLES = {
    "SP1": (
        "Strengthening counter-trafficking responses in {place}",
        "Protection and direct assistance to migrants in vulnerable situations in {place}",
        "Mental health and psychosocial support for migrants and host communities in {place}",
        "Enhancing national referral mechanisms for victims of trafficking in {place}",
        "Protecting unaccompanied and separated migrant children in {place}",
        "Improving migrants' access to health and social services in {place}",
    ),
    "SP2": (
        "Sustainable reintegration of returning migrants in {place}",
        "Community stabilization and social cohesion in {place}",
        "Disaster risk reduction and climate adaptation in vulnerable communities of {place}",
        "Humanitarian assistance to conflict-affected and displaced populations in {place}",
        "Preventing violent extremism through community engagement in {place}",
    ),
    "SP3": (
        "Safe labour migration and pre-departure orientation in {place}",
        "Engaging the diaspora for development in {place}",
        "Skills partnerships for labour mobility from {place} to the European Union",
        "Migrant Resource Centres for informed migration decisions in {place}",
        "Strengthening integrated border and identity management in {place}",
    ),
    "SP4": (
        "Strengthening migration governance capacities in {place}",
        "Supporting evidence-based migration policy in {place}",
        "Migration data and statistics for policy making in {place}",
        "Regional dialogue and cooperation on migration governance in {place}",
    ),
}
GENERIC_TITLES = ("Migration management support in {place}",)
PHASES = ("", "", "", "", " (Phase II)", " (Phase III)", " – extension")

SUMMARIES = (
    "Implemented with national authorities and civil society partners, the project builds on "
    "lessons learnt from earlier IOM work in {place}.",
    "The project targets the most vulnerable migrants, displaced persons and host communities, "
    "with attention to gender, age and disability.",
    "Activities combine direct assistance, capacity building for government counterparts and "
    "policy dialogue.",
    "Coordination takes place through the national working group chaired by the ministry in "
    "charge of migration.",
)

# Reporting frequencies (quarterly, semiannual, annual, endline) by indicator level: outputs
# are counted every quarter, outcomes mostly measured once a year or at the end (surveys).
# About two indicators in three are outputs, so overall roughly 65 / 15 / 10 / 10 %.
FREQUENCIES = ("quarterly", "semiannual", "annual", "endline")
FREQUENCY_WEIGHTS = {"output": (80, 13, 5, 2), "outcome": (35, 19, 21, 25)}

# Custom indicators per priority: kind, level, statement, magnitude, disaggregation. A
# percentage disaggregated by sex gives each group's own percentage.
# Kinds: flow (sum, number), pct_up / pct_down (latest, percentage), level_up / level_down
# (latest, number). Magnitude is the target range of a flow or the baseline range of a level.
CUSTOM_INDICATORS = {
    "SP1": (
        ("flow", "output", "Number of frontline workers trained on identification and referral of victims "
         "of trafficking", (20, 400), "sex"),
        ("pct_up", "outcome", "Percentage of assisted victims of trafficking reporting improved well-being",
         (20, 60), "sex"),
        ("level_down", "outcome", "Average number of days between identification and referral to assistance",
         (20, 60), "none"),
        ("flow", "output", "Number of awareness-raising sessions on safe migration held", (10, 150), "none"),
        ("level_up", "output", "Number of shelters and safe spaces operating with IOM support", (0, 4), "none"),
    ),
    "SP2": (
        ("pct_up", "outcome", "Percentage of supported returnees reporting sustainable reintegration",
         (25, 55), "sex"),
        ("pct_down", "outcome", "Percentage of surveyed returnees intending to re-migrate irregularly",
         (30, 70), "none"),
        ("flow", "output", "Number of community infrastructure projects completed", (3, 40), "none"),
        ("level_down", "outcome", "Number of households in collective centres awaiting durable housing",
         (200, 3000), "none"),
        ("flow", "output", "Number of small business grants disbursed to returnees and host community members",
         (20, 600), "sex"),
    ),
    "SP3": (
        ("pct_down", "outcome", "Percentage of labour migrants who paid recruitment fees", (35, 75), "none"),
        ("pct_up", "outcome", "Percentage of partner employers applying ethical recruitment standards",
         (10, 40), "none"),
        ("level_up", "output", "Number of Migrant Resource Centres operational", (0, 3), "none"),
        ("flow", "output", "Number of consultations provided by Migrant Resource Centres", (300, 6000), "sex"),
        ("level_down", "outcome", "Average cost of sending USD 200 in remittances (USD)", (8, 16), "none"),
    ),
    "SP4": (
        ("pct_up", "outcome", "Percentage of border crossing points applying standard operating procedures",
         (15, 50), "none"),
        ("level_down", "outcome", "Average processing time of residence permit applications (days)",
         (40, 120), "none"),
        ("flow", "output", "Number of inter-agency coordination meetings facilitated", (6, 60), "none"),
        ("level_up", "outcome", "Number of national migration data sets published annually", (1, 4), "none"),
        ("pct_up", "outcome", "Percentage of migration policy recommendations adopted by the government",
         (10, 40), "none"),
    ),
}

# Life-of-project target ranges for standard indicators, matched on words of their statement.
STANDARD_MAGNITUDES = (
    ("polic", (2, 12)), ("plans", (3, 30)), ("humanitarian", (1500, 25000)),
    ("vulnerable", (300, 8000)), ("psychosocial", (200, 5000)), ("victims", (20, 400)),
    ("returnees", (50, 1500)), ("pre-departure", (300, 5000)), ("diaspora", (50, 800)),
    ("border", (500, 15000)), ("officials", (40, 600)),
)
DEFAULT_MAGNITUDE = (50, 2000)
PERCENT_BASELINE = (15, 55)  # baseline range of a standard percentage indicator

SDG_BY_PRIORITY = {
    "SP1": ("5.2", "8.7", "16.2", "10.7", "3.8"),
    "SP2": ("13.1", "10.7", "16.3", "10.2"),
    "SP3": ("8.8", "10.7", "10.7.1", "10.c"),
    "SP4": ("10.7", "10.7.2", "16.9", "17.18", "17.16"),
}
GCM_BY_PRIORITY = {
    "SP1": (7, 10, 9, 15), "SP2": (2, 21, 7, 16), "SP3": (5, 6, 18, 19, 20),
    "SP4": (1, 11, 23, 4, 3, 12),
}
MARKER_ODDS = {"gender": 0.6, "child_protection": 0.3, "disability_inclusion": 0.15,
               "environment_climate": 0.2}

# Places named in narratives, some in the local script as officers actually write them.
PLACES = {
    "UKR": ("Kyiv", "Київ", "Lviv", "Львів", "Odesa", "Dnipro", "Kharkiv", "Запоріжжя"),
    "TUR": ("Ankara", "Gaziantep", "Şanlıurfa", "İstanbul", "İzmir", "Hatay", "Türkiye's south-east"),
    "BIH": ("Sarajevo", "Bihać", "Banja Luka", "Mostar", "Una-Sana Canton", "Tuzla"),
    "SRB": ("Belgrade", "Београд", "Niš", "Pirot", "Subotica", "Šid"),
    "KGZ": ("Bishkek", "Бишкек", "Osh", "Ош", "Jalal-Abad", "Batken"),
    "MDA": ("Chișinău", "Bălți", "Cahul", "Comrat"),
    "XKX": ("Prishtinë/Priština", "Prizren", "Pejë/Peć", "Gjilan/Gnjilane"),
    "GEO": ("Tbilisi", "თბილისი", "Kutaisi", "Batumi", "Telavi"),
    "TJK": ("Dushanbe", "Душанбе", "Khujand", "Bokhtar", "Kulob"),
    "UZB": ("Tashkent", "Toshkent", "Samarkand", "Fergana", "Andijan"),
    "ALB": ("Tirana", "Tiranë", "Shkodër", "Durrës", "Korçë", "Vlorë"),
    "MKD": ("Skopje", "Скопје", "Kumanovo", "Gevgelija", "Tetovo"),
    "KAZ": ("Astana", "Almaty", "Алматы", "Shymkent", "Turkistan"),
    "MNE": ("Podgorica", "Bar", "Nikšić", "Bijelo Polje"),
    "ARM": ("Yerevan", "Երևան", "Gyumri", "Vanadzor"),
    "AZE": ("Baku", "Bakı", "Ganja", "Mingachevir"),
    "BLR": ("Minsk", "Мінск", "Brest", "Grodno"),
    "RUS": ("Moscow", "Москва", "Saint Petersburg", "Yekaterinburg"),
    "TKM": ("Ashgabat", "Aşgabat", "Mary", "Türkmenabat"),
    "ISR": ("Tel Aviv", "Jerusalem", "Haifa"),
}

NARRATIVES = (
    "Activities continued as planned in {place}; {value} reported for the quarter.",
    "Field teams in {place} reported {value} this quarter, in line with the work plan.",
    "Procurement delays slowed implementation in {place}; {value} reported, catch-up planned next quarter.",
    "Joint monitoring visit with government counterparts in {place} confirmed the reported {value}.",
    "Good cooperation with local authorities in {place} allowed activities to expand ({value}).",
    "Heating season and road access limited outreach outside {place}; {value} reported.",
    "Partner NGO in {place} reported {value}; figures cross-checked with the case management system.",
    "Security situation around {place} delayed some activities; {value} reported.",
)
MEANS_OF_VERIFICATION = (
    "Signed attendance lists", "Case management database extract", "Pre- and post-training tests",
    "Distribution lists signed by beneficiaries", "Partner progress report", "Official gazette publication",
    "Meeting minutes", "Beneficiary satisfaction survey", "Photo documentation and monitoring visit report",
)
REVIEW_NOTES = (
    "Disaggregated figures do not match the beneficiary list; please reconcile with the case data.",
    "Please attach the signed attendance lists as means of verification.",
    "The value is much higher than last quarter; please explain the increase in the narrative.",
    "The narrative describes activities of another project; please revise.",
    "Please report persons assisted in this quarter only, not cumulative figures.",
    "Sex-disaggregated data is missing for part of the beneficiaries.",
    "Means of verification missing; please upload the partner report.",
)

# The officer's side of the conversation on a returned result, by review note: what they answer
# when the correction is done (and the result sent again), and when it still waits for something.
REVIEW_REPLIES = {
    REVIEW_NOTES[0]: ("Reconciled with the case data: two families were counted twice. The breakdown adds up now.",
                      "The case data is with the partner in the south; I will reconcile it when it arrives."),
    REVIEW_NOTES[1]: ("The signed attendance lists are now named as the means of verification.",
                      "The lists are signed but still at the training venue; they will follow next week."),
    REVIEW_NOTES[2]: ("Explained in the narrative: a second mobile team started work this quarter.",
                      "The increase is real, a new mobile team started; I will add it to the narrative."),
    REVIEW_NOTES[3]: ("Sorry, that paragraph came from the sister project. The narrative is rewritten.",
                      "Will revise: the two projects share a partner and its reports got mixed up."),
    REVIEW_NOTES[4]: ("Corrected to the persons assisted in this quarter only.",
                      "Should it be the quarter or the year to date? The partner report gives both."),
    REVIEW_NOTES[5]: ("Added the missing part from the registration forms.",
                      "The partner did not record sex at the group sessions; may we report those as other?"),
    REVIEW_NOTES[6]: ("The partner report is named as the means of verification now.",
                      "The partner report is due at the end of the month; I will send it again then."),
}
# A reviewer's answer to an officer who is still waiting for something.
REVIEWER_FOLLOW_UPS = (
    "Thanks. Send it again when it is ready.",
    "Noted. Say so in the narrative when you send it again.",
    "Fine, note it in the narrative and send it again.",
)

PASSWORD_WORDS = (
    "amber", "birch", "cedar", "delta", "ember", "fjord", "garnet", "harbor", "indigo", "juniper",
    "kestrel", "lagoon", "meadow", "nectar", "orchid", "pebble", "quartz", "raven", "saffron",
    "tundra", "umber", "violet", "willow", "yarrow", "zephyr", "basalt", "canyon", "falcon",
)
