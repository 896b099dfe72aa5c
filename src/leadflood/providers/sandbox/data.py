"""Static tables the sandbox universe draws from: countries, names, titles, industries.

Tables are written as text (one entry a line) so that the data stays readable; they are parsed
once at import.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Country:
    code: str  # ISO 3166-1 alpha-2, also the phonenumbers region
    name: str
    names: str  # key into FIRST_NAMES / LAST_NAMES
    tld: str
    legal: tuple[str, ...]
    weight: int
    cities: tuple[tuple[str, str], ...]  # (city, IANA time zone)
    area_codes: tuple[str, ...]  # NANP only: one per city, else empty


def _table(text: str) -> dict[str, tuple[str, ...]]:
    """`key: a, b, c` lines; an indented line continues the previous key."""
    table: dict[str, tuple[str, ...]] = {}
    key = ""
    for line in text.strip().splitlines():
        if not line.startswith(" "):
            key, line = line.split(": ", 1)
            table[key] = ()
        table[key] += tuple(v.strip() for v in line.split(",") if v.strip())
    return table


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _country(line: str) -> Country:
    code, name, pool, tld, legal, weight, cities = (f.strip() for f in line.split("|"))
    parsed = [city.strip().split("=") for city in cities.split(";")]
    return Country(
        code=code,
        name=name,
        names=pool,
        tld=tld,
        legal=tuple(legal.split(",")),
        weight=int(weight),
        cities=tuple((c[0], c[1]) for c in parsed),
        area_codes=tuple(c[2] for c in parsed if len(c) == 3),
    )


# code | name | name pool | tld | legal suffixes | weight | city=zone[=area code]; ...
_COUNTRIES = """
US|United States|en|com|Inc.,LLC,Corp.|30|New York=America/New_York=212;\
San Francisco=America/Los_Angeles=415;Austin=America/Chicago=512;Chicago=America/Chicago=312;\
Boston=America/New_York=617;Seattle=America/Los_Angeles=206;Denver=America/Denver=303;\
Atlanta=America/New_York=404;Phoenix=America/Phoenix=602
GB|United Kingdom|en|co.uk|Ltd|10|London=Europe/London;Manchester=Europe/London;Leeds=Europe/London
CA|Canada|en|ca|Inc.,Ltd.|5|Toronto=America/Toronto=416;Vancouver=America/Vancouver=604;\
Montreal=America/Toronto=514;Calgary=America/Edmonton=403
AU|Australia|en|com.au|Pty Ltd|4|Sydney=Australia/Sydney;Melbourne=Australia/Melbourne;\
Brisbane=Australia/Brisbane;Perth=Australia/Perth
IE|Ireland|en|ie|Ltd|2|Dublin=Europe/Dublin;Cork=Europe/Dublin
DE|Germany|de|de|GmbH,AG|8|Berlin=Europe/Berlin;München=Europe/Berlin;Hamburg=Europe/Berlin;\
Köln=Europe/Berlin
AT|Austria|de|at|GmbH|1|Wien=Europe/Vienna;Graz=Europe/Vienna
CH|Switzerland|de|ch|AG,GmbH|2|Zürich=Europe/Zurich;Basel=Europe/Zurich
FR|France|fr|fr|SAS,SA|6|Paris=Europe/Paris;Lyon=Europe/Paris;Toulouse=Europe/Paris
ES|Spain|es|es|S.L.,S.A.|4|Madrid=Europe/Madrid;Barcelona=Europe/Madrid
IT|Italy|it|it|S.r.l.,S.p.A.|3|Milano=Europe/Rome;Roma=Europe/Rome
NL|Netherlands|nl|nl|B.V.|4|Amsterdam=Europe/Amsterdam;Utrecht=Europe/Amsterdam;\
Rotterdam=Europe/Amsterdam
SE|Sweden|nordic|se|AB|2|Stockholm=Europe/Stockholm;Göteborg=Europe/Stockholm
DK|Denmark|nordic|dk|ApS,A/S|2|København=Europe/Copenhagen;Aarhus=Europe/Copenhagen
NO|Norway|nordic|no|AS|1|Oslo=Europe/Oslo;Bergen=Europe/Oslo
PL|Poland|pl|pl|Sp. z o.o.|2|Warszawa=Europe/Warsaw;Kraków=Europe/Warsaw
BR|Brazil|pt|com.br|Ltda.|3|São Paulo=America/Sao_Paulo;Rio de Janeiro=America/Sao_Paulo;\
Manaus=America/Manaus
MX|Mexico|es|com.mx|S.A. de C.V.|2|Ciudad de México=America/Mexico_City;\
Monterrey=America/Monterrey;Guadalajara=America/Mexico_City
IN|India|in|in|Pvt. Ltd.|4|Bengaluru=Asia/Kolkata;Mumbai=Asia/Kolkata;Pune=Asia/Kolkata
JP|Japan|jp|jp|K.K.|2|Tokyo=Asia/Tokyo;Osaka=Asia/Tokyo
SG|Singapore|sg|sg|Pte. Ltd.|2|Singapore=Asia/Singapore
ZA|South Africa|en|co.za|(Pty) Ltd|1|Cape Town=Africa/Johannesburg;Johannesburg=Africa/Johannesburg
AE|United Arab Emirates|ae|ae|FZ-LLC,LLC|1|Dubai=Asia/Dubai;Abu Dhabi=Asia/Dubai
"""

COUNTRIES: tuple[Country, ...] = tuple(_country(line) for line in _COUNTRIES.strip().splitlines())
COUNTRY_BY_CODE: dict[str, Country] = {c.code: c for c in COUNTRIES}
COUNTRY_ALIASES: dict[str, str] = {
    **{c.name.lower(): c.code for c in COUNTRIES},
    **{c.code.lower(): c.code for c in COUNTRIES},
    **{
        alias: code
        for code, aliases in _table("""
US: usa, united states of america, america
GB: uk, great britain, britain, england
DE: deutschland
AE: uae
NL: the netherlands, holland
BR: brasil
MX: méxico
ES: españa
CH: schweiz
AT: österreich
SE: sverige
DK: danmark
NO: norge
PL: polska
IT: italia
""").items()
        for alias in aliases
    },
}

FIRST_NAMES: dict[str, tuple[str, ...]] = _table("""
en: James, Emily, Michael, Sarah, David, Jessica, Daniel, Ashley, Ryan, Olivia, Chris, Hannah,
    Matthew, Lauren, Andrew, Megan, Kevin, Rachel, Brian, Emma, Jason, Sophie, Tyler, Grace,
    Nathan, Chloe, Marcus, Priya, Carlos, Mei, Jamal, Aisha, Liam, Zoe, Ethan, Natalie
de: Lukas, Anna, Maximilian, Lea, Felix, Laura, Jonas, Julia, Paul, Sophie, Tobias, Katharina,
    Jan, Lena, Florian, Sarah, Niklas, Miriam, Stefan, Johanna, Matthias, Franziska, Jürgen, Jörg
fr: Louis, Camille, Hugo, Chloé, Thomas, Léa, Antoine, Manon, Nicolas, Inès, Julien, Sarah,
    Mathieu, Élodie, Maxime, Claire, Pierre, Aurélie, Guillaume, Juliette, Théo, Margaux
es: Alejandro, Lucía, Javier, María, Daniel, Paula, Pablo, Laura, Sergio, Carmen, Diego, Sofía,
    Andrés, Marta, José, Elena, Miguel, Ana, Raúl, Valentina, Fernando, Camila
pt: João, Ana, Pedro, Mariana, Lucas, Beatriz, Gabriel, Juliana, Rafael, Camila, Gustavo, Larissa,
    Felipe, Fernanda, Thiago, Letícia, Bruno, Carolina, Rodrigo, Isabela
it: Marco, Giulia, Luca, Francesca, Alessandro, Chiara, Andrea, Sara, Matteo, Valentina, Lorenzo,
    Elena, Davide, Martina, Simone, Federica, Giovanni, Alessia
nl: Daan, Emma, Sem, Sanne, Lars, Lotte, Thijs, Fleur, Bram, Anouk, Joost, Eva, Ruben, Lisa,
    Jeroen, Iris, Pieter, Femke
nordic: Erik, Emma, Lars, Ingrid, Anders, Maja, Johan, Astrid, Nils, Freja, Magnus, Sofie, Oskar,
    Elin, Henrik, Karin, Søren, Linnea, Mikkel, Ida
pl: Piotr, Anna, Tomasz, Katarzyna, Paweł, Magdalena, Michał, Agnieszka, Krzysztof, Joanna, Jakub,
    Aleksandra, Marcin, Monika, Łukasz, Zofia
in: Rahul, Priya, Arjun, Ananya, Vikram, Sneha, Rohan, Kavya, Amit, Pooja, Karthik, Divya, Aditya,
    Neha, Sanjay, Shreya, Rajesh, Meera
jp: Haruto, Yui, Takumi, Sakura, Kenji, Aiko, Hiroshi, Yuki, Daiki, Mei, Sota, Hana, Ren, Naomi,
    Kaito, Emi
sg: Wei Ling, Jun Jie, Hui Min, Zhi Hao, Siti, Muhammad, Priya, Arun, Mei Ling, Kai Wen, Nurul,
    Ethan, Rachel, Darren, Shu Fen, Ryan
ae: Omar, Fatima, Ahmed, Mariam, Khalid, Layla, Yousef, Noura, Hassan, Aisha, Rashid, Sara, Ali,
    Hind, Faisal, Reem
""")

LAST_NAMES: dict[str, tuple[str, ...]] = _table("""
en: Smith, Johnson, Williams, Brown, Jones, Miller, Davis, Wilson, Anderson, Taylor, Thomas,
    Moore, Martin, Jackson, Thompson, White, Harris, Clark, Lewis, Walker, Hall, Young, King,
    Wright, Scott, Green, Baker, Adams, Nelson, Campbell, Mitchell, Roberts, Carter, Patel,
    Nguyen, Kim, Chen, Garcia, Rodriguez, O'Brien, Murphy, Kelly
de: Müller, Schmidt, Schneider, Fischer, Weber, Meyer, Wagner, Becker, Schulz, Hoffmann, Koch,
    Richter, Klein, Wolf, Schröder, Neumann, Schwarz, Zimmermann, Braun, Krüger, Hofmann,
    Hartmann, Lange, Keller
fr: Martin, Bernard, Dubois, Thomas, Robert, Richard, Petit, Durand, Leroy, Moreau, Simon,
    Laurent, Lefèvre, Michel, Garcia, David, Bertrand, Roux, Vincent, Fournier, Morel, Girard,
    Bonnet, Dupont
es: García, Rodríguez, González, Fernández, López, Martínez, Sánchez, Pérez, Gómez, Martín,
    Jiménez, Ruiz, Hernández, Díaz, Moreno, Álvarez, Romero, Navarro, Torres, Domínguez, Ramírez,
    Castillo
pt: Silva, Santos, Oliveira, Souza, Rodrigues, Ferreira, Alves, Pereira, Lima, Gomes, Costa,
    Ribeiro, Martins, Carvalho, Almeida, Lopes, Araújo, Barbosa, Rocha, Mendes
it: Rossi, Russo, Ferrari, Esposito, Bianchi, Romano, Colombo, Ricci, Marino, Greco, Bruno, Gallo,
    Conti, De Luca, Mancini, Costa, Giordano, Rizzo, Lombardi, Moretti
nl: de Jong, Jansen, de Vries, van den Berg, van Dijk, Bakker, Janssen, Visser, Smit, Meijer,
    de Boer, Mulder, de Groot, Bos, Vos, Peters, Hendriks, van Leeuwen, Dekker, Brouwer
nordic: Andersson, Johansson, Karlsson, Nilsson, Eriksson, Larsson, Olsen, Hansen, Jensen,
    Nielsen, Pedersen, Berg, Lindqvist, Holm, Johansen, Lund, Dahl, Sørensen, Bakke, Strand
pl: Nowak, Kowalski, Wiśniewski, Wójcik, Kowalczyk, Kamiński, Lewandowski, Zieliński, Szymański,
    Woźniak, Dąbrowski, Kozłowski, Jankowski, Mazur
in: Sharma, Verma, Gupta, Iyer, Reddy, Nair, Kumar, Singh, Patel, Mehta, Joshi, Rao, Menon,
    Agarwal, Kapoor, Bose, Desai, Pillai
jp: Sato, Suzuki, Takahashi, Tanaka, Watanabe, Ito, Yamamoto, Nakamura, Kobayashi, Kato, Yoshida,
    Yamada, Sasaki, Yamaguchi, Matsumoto, Inoue
sg: Tan, Lim, Lee, Ng, Ong, Wong, Goh, Chua, Chan, Koh, Teo, Rahman, Ismail, Kumar, Pillai, Yeo
ae: Al Mansouri, Al Nahyan, Al Maktoum, Al Hashimi, Al Suwaidi, Al Falasi, Al Ketbi, Al Dhaheri,
    Haddad, Khoury, Saleh, Hassan, Nasser, Aziz
""")

_INDUSTRY_NOUNS: dict[str, tuple[str, ...]] = _table("""
Computer Software: Software, Labs, Cloud, Systems, Technologies
Information Technology & Services: IT, Digital, Solutions, Tech, Networks
Internet: HQ, App, Online, Platform, Web
Financial Services: Capital, Finance, Payments, Wealth, Partners
Marketing & Advertising: Media, Marketing, Creative, Studio, Agency
Hospital & Health Care: Health, Care, Medical, Clinics, Therapeutics
Staffing & Recruiting: Talent, Recruiting, Staffing, People, Search
Real Estate: Properties, Realty, Estates, Living, Homes
Management Consulting: Consulting, Advisory, Partners, Group, Strategy
E-Learning: Learning, Academy, Education, Skills, Campus
Retail: Retail, Store, Goods, Market, Brands
Logistics & Supply Chain: Logistics, Freight, Supply, Shipping, Transport
Telecommunications: Telecom, Connect, Mobile, Fiber, Communications
Accounting: Accounting, Tax, Ledger, Audit, Books
Insurance: Insurance, Assurance, Cover, Risk, Mutual
Biotechnology: Bio, Genomics, Biosciences, Therapeutics, Life Sciences
Consumer Goods: Goods, Foods, Home, Co, Products
Automotive: Motors, Mobility, Automotive, Drive, EV
Construction: Build, Construction, Builders, Engineering, Structures
Renewables & Environment: Energy, Solar, Renewables, Power, Climate
""")

INDUSTRIES: tuple[tuple[str, tuple[str, ...]], ...] = tuple(_INDUSTRY_NOUNS.items())
INDUSTRY_WEIGHTS: tuple[int, ...] = (16, 12, 8, 8, 7, 6, 4, 4, 5, 3, 4, 4, 3, 3, 3, 2, 3, 2, 2, 3)

DEPARTMENT_LABELS: dict[str, tuple[str, ...]] = _table("""
engineering: Engineering, Platform Engineering, Infrastructure
sales: Sales, Business Development, Partnerships
marketing: Marketing, Growth, Demand Generation, Brand
customer_success: Customer Success, Customer Experience, Support
operations: Operations, Revenue Operations, Business Operations
product: Product, Product Management
finance: Finance, FP&A
human_resources: People, Talent, Human Resources
it: IT, Information Security
data: Data, Analytics, Data Science
design: Design, UX
legal: Legal, Compliance
""")

C_SUITE_TITLES: dict[str, tuple[str, ...]] = _table("""
engineering: CTO, Chief Technology Officer
sales: Chief Revenue Officer, Chief Sales Officer
marketing: CMO, Chief Marketing Officer
customer_success: Chief Customer Officer
operations: COO, Chief Operating Officer
product: Chief Product Officer
finance: CFO, Chief Financial Officer
human_resources: Chief People Officer, CHRO
it: CIO, CISO, Chief Information Officer
data: Chief Data Officer
design: Chief Design Officer
legal: General Counsel, Chief Legal Officer
""")

MANAGER_TITLES: dict[str, tuple[str, ...]] = _table("""
engineering: Engineering Manager, Software Development Manager, QA Manager
sales: Sales Manager, Account Manager, Regional Sales Manager
marketing: Marketing Manager, Content Marketing Manager, Growth Manager
customer_success: Customer Success Manager, Support Manager
operations: Operations Manager, RevOps Manager
product: Product Manager, Technical Product Manager
finance: Finance Manager, Controller
human_resources: HR Manager, Talent Acquisition Manager, People Partner
it: IT Manager, Security Manager
data: Data Science Manager, Analytics Manager
design: Design Manager, UX Manager
legal: Legal Counsel, Compliance Manager
""")

IC_TITLES: dict[str, tuple[str, ...]] = _table("""
engineering: Backend Engineer, Frontend Engineer, Software Engineer, Full Stack Engineer,
    DevOps Engineer, Site Reliability Engineer, Mobile Engineer, QA Engineer
sales: Account Executive, Sales Development Representative, Business Development Representative,
    Sales Engineer
marketing: Marketing Specialist, Content Marketer, Growth Marketer,
    Performance Marketing Specialist, Marketing Coordinator
customer_success: Customer Success Specialist, Support Engineer, Implementation Consultant
operations: Operations Analyst, Sales Operations Analyst, Operations Associate
product: Product Owner, Associate Product Manager, Product Analyst
finance: Accountant, Financial Analyst, Payroll Specialist
human_resources: Recruiter, HR Generalist, Talent Sourcer
it: Systems Administrator, IT Support Specialist, Security Analyst
data: Data Analyst, Data Scientist, Data Engineer, Machine Learning Engineer
design: Product Designer, UX Designer, UI Designer
legal: Paralegal, Contract Specialist
""")

BRAND_ROOTS: tuple[str, ...] = _words(
    "North Blue Bright Silver Clear Iron Red Green Swift True Open Deep High Star Sun Cloud Terra "
    "Nova Alto Cedar Maple Oak River Stone Summit Vista Pine Harbor Atlas Orbit Lumen Quantum "
    "Signal Copper Arc Polar Ember Echo Bold Wild"
)
BRAND_STEMS: tuple[str, ...] = _words(
    "wind peak line stone field bridge path gate wave leaf forge spring ridge light works point "
    "loop mark stack flow grid shift scale craft nest yard well bay crest vale"
)

# (range label, lowest, highest, weight)
EMPLOYEE_RANGES: tuple[tuple[str, int, int, int], ...] = (
    ("1-10", 1, 10, 18),
    ("11-50", 11, 50, 30),
    ("51-200", 51, 200, 25),
    ("201-500", 201, 500, 12),
    ("501-1000", 501, 1000, 7),
    ("1001-5000", 1001, 5000, 6),
    ("5001+", 5001, 120_000, 2),
)

TECHNOLOGIES: tuple[str, ...] = _table("""
t: Salesforce, HubSpot, Google Analytics, Segment, Stripe, AWS, Google Cloud, Microsoft Azure,
    Snowflake, Slack, Zendesk, Intercom, Shopify, WordPress, React, Marketo, Outreach, Gong, Jira,
    Okta, Datadog, Kubernetes, PostgreSQL, Workday, NetSuite, Microsoft 365, Google Workspace,
    Mailchimp, Webflow, Cloudflare
""")["t"]

EMAIL_PATTERNS: tuple[tuple[str, int], ...] = (
    ("{first}.{last}", 50),
    ("{f}{last}", 20),
    ("{first}", 10),
    ("{first}{last}", 8),
    ("{first}_{last}", 5),
    ("{f}.{last}", 7),
)

SENIORITIES: tuple[str, ...] = (
    "owner", "founder", "c_suite", "vp", "head", "director", "manager", "senior", "entry"
)  # fmt: skip
SENIORITY_WEIGHTS: tuple[int, ...] = (1, 2, 3, 5, 6, 9, 18, 26, 30)

DEPARTMENTS: tuple[str, ...] = tuple(DEPARTMENT_LABELS)
DEPARTMENT_WEIGHTS: tuple[int, ...] = (22, 18, 12, 9, 8, 7, 6, 5, 5, 4, 3, 2)

FREEMAIL_DOMAINS: frozenset[str] = frozenset(
    _words(
        "gmail.com googlemail.com yahoo.com outlook.com hotmail.com icloud.com aol.com proton.me "
        "protonmail.com gmx.de web.de live.com mail.com"
    )
)
