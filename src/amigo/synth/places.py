"""Cities, postal codes and streets of the customers' countries (real places, made-up addresses)."""

from __future__ import annotations

from dataclasses import dataclass

from amigo.synth.geo import words


@dataclass(frozen=True, slots=True)
class City:
    """A city (or, in Japan, Korea and China, a district) people live in."""

    country: str
    name: str  # as written locally, native script for CJK
    name_latin: str  # as written in Latin letters (Shopify, romanized forms)
    zips: tuple[str, ...]  # postal codes or patterns: '#' digit, '@' letter
    region: str  # province / state / prefecture, local script
    region_latin: str
    region_code: str  # Shopify province_code, also Y2 RegionId
    weight: float
    stores: tuple[str, ...]  # usual stores of its residents
    language: str  # "" = the country's default
    zone: str  # "" = the country's default
    area_codes: tuple[str, ...]  # US only: the city's phone area codes
    streets: tuple[tuple[str, str], ...]  # CJK only: (native, latin) street or town names


# One line per city: name|latin|postal codes|region|region latin|region code|weight|stores|extras
# Postal codes: comma-separated; "a-b" is an inclusive range; '#' a digit, '@' a letter.
# Extras: lang=..;tz=..;area=212 646;streets=native:latin/native:latin
_CITY_DATA: dict[str, str] = {
    "FR": """
Paris|Paris|75001-75020,75116|||| 40|PAR01 PAR02 PAR03|
Boulogne-Billancourt|Boulogne-Billancourt|92100|||| 3|PAR01 PAR02 PAR03|
Neuilly-sur-Seine|Neuilly-sur-Seine|92200|||| 2|PAR01 PAR03|
Levallois-Perret|Levallois-Perret|92300|||| 2|PAR01 PAR02|
Vincennes|Vincennes|94300|||| 1.5|PAR02|
Montreuil|Montreuil|93100|||| 1.5|PAR02|
Versailles|Versailles|78000|||| 2|PAR03|
Saint-Germain-en-Laye|Saint-Germain-en-Laye|78100|||| 1|PAR03|
Lyon|Lyon|69001-69009|||| 7|PAR01 PAR02 PAR03|
Marseille|Marseille|13001-13016|||| 5|PAR01 PAR02 PAR03|
Bordeaux|Bordeaux|33000,33100,33200,33300,33800|||| 4|PAR01 PAR02 PAR03|
Lille|Lille|59000,59160,59260,59777,59800|||| 4|PAR01 PAR02 PAR03|
Toulouse|Toulouse|31000,31100,31200,31300,31400,31500|||| 4|PAR01 PAR02 PAR03|
Nice|Nice|06000,06100,06200,06300|||| 3|PAR01 PAR02 PAR03|
Nantes|Nantes|44000,44100,44200,44300|||| 3|PAR01 PAR02 PAR03|
Strasbourg|Strasbourg|67000,67100,67200|||| 3|PAR01 PAR02 PAR03|
Montpellier|Montpellier|34000,34070,34080,34090|||| 3|PAR01 PAR02 PAR03|
Rennes|Rennes|35000,35200,35700|||| 2|PAR01 PAR02 PAR03|
Aix-en-Provence|Aix-en-Provence|13090,13100|||| 2|PAR01 PAR02 PAR03|
Cannes|Cannes|06400|||| 1|PAR01 PAR02 PAR03|
Annecy|Annecy|74000|||| 1|PAR01 PAR02 PAR03|
Reims|Reims|51100|||| 1|PAR01 PAR02 PAR03|
Biarritz|Biarritz|64200|||| 1|PAR01 PAR02 PAR03|
""",
    "GB": """
London|London|SW1A #@@,SW3 #@@,SW7 #@@,SW11 #@@,W1K #@@,W8 #@@,W11 #@@,NW1 #@@,NW3 #@@,N1 #@@,E1 #@@,E2 #@@,E8 #@@,SE1 #@@,SE15 #@@,EC1V #@@,WC2H #@@|||| 55|LON01|
Manchester|Manchester|M1 #@@,M4 #@@,M14 #@@,M20 #@@|||| 8|LON01|
Birmingham|Birmingham|B1 #@@,B15 #@@,B13 #@@|||| 6|LON01|
Edinburgh|Edinburgh|EH1 #@@,EH3 #@@,EH9 #@@,EH10 #@@|||| 5|LON01|
Glasgow|Glasgow|G1 #@@,G3 #@@,G12 #@@|||| 4|LON01|
Bristol|Bristol|BS1 #@@,BS6 #@@,BS8 #@@|||| 4|LON01|
Leeds|Leeds|LS1 #@@,LS6 #@@,LS17 #@@|||| 4|LON01|
Brighton|Brighton|BN1 #@@,BN2 #@@,BN3 #@@|||| 4|LON01|
Oxford|Oxford|OX1 #@@,OX2 #@@,OX4 #@@|||| 3|LON01|
Cambridge|Cambridge|CB1 #@@,CB2 #@@,CB4 #@@|||| 3|LON01|
""",
    "IT": """
Milano|Milano|20121-20162||Milano|MI| 35|MIL01|
Roma|Roma|00118-00199||Roma|RM| 22|MIL01|
Torino|Torino|10121-10156||Torino|TO| 8|MIL01|
Firenze|Firenze|50121-50145||Firenze|FI| 7|MIL01|
Bologna|Bologna|40121-40141||Bologna|BO| 7|MIL01|
Napoli|Napoli|80121-80147||Napoli|NA| 7|MIL01|
Venezia|Venezia|30121-30176||Venezia|VE| 4|MIL01|
Verona|Verona|37121-37142||Verona|VR| 4|MIL01|
Genova|Genova|16121-16167||Genova|GE| 3|MIL01|
Como|Como|22100||Como|CO| 3|MIL01|
""",
    "DE": """
Berlin|Berlin|10115,10117,10119,10178,10243,10245,10405,10435,10437,10551,10623,10707,10711,10777,10785,10827,10961,10997,12043,12047,12059,13347,14050,14193|||| 30|BER01|
München|München|80331,80333,80335,80469,80539,80799,80801,81541,81667,81675|||| 16|BER01|
Hamburg|Hamburg|20095,20144,20249,20354,22085,22301,22767,22769|||| 14|BER01|
Frankfurt am Main|Frankfurt am Main|60306,60311,60313,60316,60322,60594|||| 9|BER01|
Köln|Köln|50667,50670,50672,50674,50677,50823,50935|||| 9|BER01|
Düsseldorf|Düsseldorf|40210,40211,40212,40213,40479,40545|||| 8|BER01|
Stuttgart|Stuttgart|70173,70174,70178,70180,70182,70193|||| 7|BER01|
Leipzig|Leipzig|04103,04105,04107,04109,04275|||| 5|BER01|
""",
    "US": """
New York|New York|10001-10036,10065,10128|New York|New York|NY| 30|NYC01|area=212 646 917
Brooklyn|Brooklyn|11201,11205,11211,11215,11217,11222,11238|New York|New York|NY| 9|NYC01|area=347 718 929
Los Angeles|Los Angeles|90004,90012,90026,90027,90036,90046,90048,90069|California|California|CA| 16|LAX01|area=310 323 213 424;tz=America/Los_Angeles
San Francisco|San Francisco|94102,94103,94107,94110,94114,94115,94117,94123|California|California|CA| 9|LAX01|area=415 628;tz=America/Los_Angeles
Seattle|Seattle|98101,98102,98103,98109,98112,98122|Washington|Washington|WA| 5|LAX01|area=206;tz=America/Los_Angeles
Chicago|Chicago|60605,60607,60610,60611,60614,60622,60657|Illinois|Illinois|IL| 8|NYC01|area=312 773;tz=America/Chicago
Miami|Miami|33125,33127,33131,33133,33137,33139|Florida|Florida|FL| 7|NYC01|area=305 786
Boston|Boston|02108,02109,02110,02115,02116,02118|Massachusetts|Massachusetts|MA| 6|NYC01|area=617 857
Washington|Washington|20001,20002,20007,20009,20036|District of Columbia|District of Columbia|DC| 5|NYC01|area=202
Austin|Austin|78701,78702,78703,78704,78751|Texas|Texas|TX| 3|NYC01|area=512 737;tz=America/Chicago
Houston|Houston|77002,77006,77007,77019,77098|Texas|Texas|TX| 2|NYC01|area=713 832;tz=America/Chicago
""",
    "JP": """
港区|Minato-ku|107-00##,106-00##|東京都|Tokyo|JP-13| 14|TYO01 TYO02|streets=南青山:Minami-Aoyama/北青山:Kita-Aoyama/六本木:Roppongi/麻布十番:Azabu-Juban/白金台:Shirokanedai
渋谷区|Shibuya-ku|150-00##,151-00##|東京都|Tokyo|JP-13| 14|TYO01|streets=神宮前:Jingumae/恵比寿:Ebisu/代官山町:Daikanyamacho/広尾:Hiroo/富ヶ谷:Tomigaya
中央区|Chuo-ku|104-00##,103-00##|東京都|Tokyo|JP-13| 8|TYO02|streets=銀座:Ginza/日本橋:Nihonbashi/築地:Tsukiji/月島:Tsukishima
目黒区|Meguro-ku|152-00##,153-00##|東京都|Tokyo|JP-13| 7|TYO01 TYO02|streets=自由が丘:Jiyugaoka/中目黒:Nakameguro/青葉台:Aobadai
世田谷区|Setagaya-ku|154-00##,155-00##,158-00##|東京都|Tokyo|JP-13| 9|TYO01|streets=三軒茶屋:Sangenjaya/下北沢:Shimokitazawa/二子玉川:Futakotamagawa
新宿区|Shinjuku-ku|160-00##,162-00##|東京都|Tokyo|JP-13| 7|TYO01 TYO02|streets=西新宿:Nishi-Shinjuku/神楽坂:Kagurazaka/四谷:Yotsuya
横浜市中区|Naka-ku, Yokohama|231-00##|神奈川県|Kanagawa|JP-14| 8|TYO02|streets=山下町:Yamashitacho/元町:Motomachi/本牧:Honmoku
大阪市北区|Kita-ku, Osaka|530-00##|大阪府|Osaka|JP-27| 10|TYO02|streets=梅田:Umeda/中之島:Nakanoshima/天満:Tenma
京都市中京区|Nakagyo-ku, Kyoto|604-8###|京都府|Kyoto|JP-26| 5|TYO02|streets=河原町:Kawaramachi/烏丸:Karasuma/三条:Sanjo
名古屋市中区|Naka-ku, Nagoya|460-00##|愛知県|Aichi|JP-23| 5|TYO02|streets=栄:Sakae/大須:Osu/錦:Nishiki
福岡市中央区|Chuo-ku, Fukuoka|810-00##|福岡県|Fukuoka|JP-40| 4|TYO02|streets=天神:Tenjin/大名:Daimyo/薬院:Yakuin
札幌市中央区|Chuo-ku, Sapporo|060-00##,064-08##|北海道|Hokkaido|JP-01| 3|TYO02|streets=大通西:Odori-Nishi/南一条西:Minami-Ichijo-Nishi
""",
    "KR": """
강남구|Gangnam-gu|06###|서울특별시|Seoul|KR-11| 22|SEL01|streets=압구정로:Apgujeong-ro/도산대로:Dosan-daero/테헤란로:Teheran-ro/선릉로:Seolleung-ro/청담동길:Cheongdamdong-gil
서초구|Seocho-gu|06###,065##|서울특별시|Seoul|KR-11| 12|SEL01|streets=반포대로:Banpo-daero/서초대로:Seocho-daero/방배로:Bangbae-ro
용산구|Yongsan-gu|04###|서울특별시|Seoul|KR-11| 10|SEL01|streets=이태원로:Itaewon-ro/한남대로:Hannam-daero/녹사평대로:Noksapyeong-daero
마포구|Mapo-gu|04###,03###|서울특별시|Seoul|KR-11| 10|SEL01|streets=와우산로:Wausan-ro/양화로:Yanghwa-ro/독막로:Dongmak-ro
종로구|Jongno-gu|03###|서울특별시|Seoul|KR-11| 6|SEL01|streets=삼청로:Samcheong-ro/율곡로:Yulgok-ro/자하문로:Jahamun-ro
성동구|Seongdong-gu|04###|서울특별시|Seoul|KR-11| 7|SEL01|streets=성수이로:Seongsui-ro/왕십리로:Wangsimni-ro/아차산로:Achasan-ro
분당구|Bundang-gu, Seongnam-si|13###|경기도|Gyeonggi-do|KR-41| 10|SEL01|streets=판교역로:Pangyoyeok-ro/정자일로:Jeongjail-ro
해운대구|Haeundae-gu|48###|부산광역시|Busan|KR-26| 9|SEL01|streets=해운대로:Haeundae-ro/달맞이길:Dalmaji-gil/센텀중앙로:Centum jungang-ro
연수구|Yeonsu-gu|21###,22###|인천광역시|Incheon|KR-28| 6|SEL01|streets=송도과학로:Songdogwahak-ro/컨벤시아대로:Convensia-daero
수성구|Suseong-gu|42###|대구광역시|Daegu|KR-27| 4|SEL01|streets=동대구로:Dongdaegu-ro/달구벌대로:Dalgubeol-daero
""",
    "CN": """
静安区|Jing'an District|2000##|上海市|Shanghai|SH| 14|SHA01|streets=南京西路:West Nanjing Road/常德路:Changde Road/愚园路:Yuyuan Road
黄浦区|Huangpu District|2000##,2000##|上海市|Shanghai|SH| 10|SHA01|streets=淮海中路:Middle Huaihai Road/南京东路:East Nanjing Road/复兴中路:Middle Fuxing Road
徐汇区|Xuhui District|2000##,2002##|上海市|Shanghai|SH| 10|SHA01|streets=衡山路:Hengshan Road/武康路:Wukang Road/天平路:Tianping Road
浦东新区|Pudong New Area|2001##,2012##|上海市|Shanghai|SH| 12|SHA01|streets=世纪大道:Century Avenue/陆家嘴环路:Lujiazui Ring Road/张杨路:Zhangyang Road
朝阳区|Chaoyang District|1000##,1001##|北京市|Beijing|BJ| 14|SHA01|streets=三里屯路:Sanlitun Road/建国路:Jianguo Road/工体北路:North Gongti Road
东城区|Dongcheng District|1000##,1007##|北京市|Beijing|BJ| 6|SHA01|streets=王府井大街:Wangfujing Street/东四北大街:North Dongsi Street
天河区|Tianhe District, Guangzhou|5106##|广东省|Guangdong|GD| 9|SHA01|streets=天河路:Tianhe Road/珠江新城:Zhujiang New Town/体育东路:East Tiyu Road
南山区|Nanshan District, Shenzhen|5180##|广东省|Guangdong|GD| 9|SHA01|streets=深南大道:Shennan Avenue/科技园路:Keji Park Road/海德三道:Haide 3rd Road
西湖区|Xihu District, Hangzhou|3100##|浙江省|Zhejiang|ZJ| 8|SHA01|streets=文三路:Wensan Road/北山路:Beishan Road/南山路:Nanshan Road
锦江区|Jinjiang District, Chengdu|6100##|四川省|Sichuan|SC| 8|SHA01|streets=春熙路:Chunxi Road/红星路:Hongxing Road/东大街:East Street
""",
    "ES": """
Madrid|Madrid|28001-28050||Madrid|M| 40||
Barcelona|Barcelona|08001-08042||Barcelona|B| 35||
Valencia|Valencia|46001-46026||Valencia|V| 10||
Sevilla|Sevilla|41001-41020||Sevilla|SE| 8||
Málaga|Málaga|29001-29018||Málaga|MA| 7||
""",
    "BE": """
Bruxelles|Bruxelles|1000,1050,1060,1180,1200|||| 45|PAR01 PAR02|
Antwerpen|Antwerpen|2000,2018,2020,2060|||| 20|PAR01|lang=nl
Gent|Gent|9000,9030,9040,9050|||| 14|PAR01|lang=nl
Liège|Liège|4000,4020,4030|||| 11|PAR01 PAR02|
Namur|Namur|5000,5100|||| 10|PAR01|
""",
    "CH": """
Zürich|Zürich|8001-8008,8032,8037,8045|||| 40|PAR01|
Genève|Genève|1201-1209|||| 28|PAR01 PAR03|lang=fr
Lausanne|Lausanne|1003-1007|||| 17|PAR01|lang=fr
Basel|Basel|4051-4058|||| 15|PAR01|
""",
    "NL": """
Amsterdam|Amsterdam|10## @@|||| 50|PAR01|
Rotterdam|Rotterdam|30## @@|||| 20|PAR01|
Den Haag|Den Haag|25## @@|||| 15|PAR01|
Utrecht|Utrecht|35## @@|||| 15|PAR01|
""",
}

# Street names of the Western countries (Latin script); CJK cities carry their own.
STREETS: dict[str, tuple[str, ...]] = {
    "FR": words(
        "rue de Rivoli|rue de la Paix|avenue de la République|boulevard Voltaire|rue Victor Hugo|"
        "avenue Jean Jaurès|rue Pasteur|place de la Liberté|rue des Lilas|rue du Général de Gaulle|"
        "rue de la Gare|rue Nationale|avenue Foch|boulevard Haussmann|rue Oberkampf|"
        "rue de Charonne|rue La Fayette|rue de Vaugirard|rue de Rennes|rue Saint-Antoine|"
        "quai de Valmy|rue des Martyrs|rue Montmartre|avenue des Ternes|rue du Bac|"
        "rue de la Roquette|rue de Belleville|rue de Turenne|rue Émile Zola|rue des Écoles|"
        "rue du Moulin|rue de l'Église|rue Jean Moulin|avenue du Maréchal Leclerc|rue Gambetta|"
        "boulevard Saint-Michel|rue d'Alésia|rue Lecourbe|avenue Daumesnil|rue de Ménilmontant|"
        "rue des Acacias|chemin des Vignes|allée des Tilleuls|rue Carnot|rue Paul Bert",
        "|",
    ),
    "GB": words(
        "High Street|Station Road|Church Lane|Victoria Road|Park Avenue|King's Road|"
        "Queen Street|Mill Lane|Green Lane|Manor Road|Elm Grove|Albert Road|Church Street|"
        "London Road|Richmond Road|Grosvenor Place|Abbey Road|Portobello Road|Baker Street|"
        "Kensington Park Road|Ladbroke Grove|Canonbury Road|Columbia Road|Brick Lane|"
        "Ashley Gardens|St John's Wood Road|Highbury Hill|Chelsea Manor Street|Bath Road|"
        "Clifton Road|Beech Avenue|Oak Avenue|The Crescent|Windsor Road|York Road",
        "|",
    ),
    "IT": words(
        "Via Roma|Via Garibaldi|Corso Venezia|Via Montenapoleone|Via della Spiga|Corso Buenos Aires|"
        "Via Mazzini|Via Cavour|Via Dante|Corso Magenta|Via Torino|Via Manzoni|Viale Monza|"
        "Via Tortona|Via Solferino|Via Brera|Via Marghera|Viale Piave|Via Nazionale|"
        "Via del Corso|Via Appia Nuova|Via Po|Corso Italia|Piazza della Repubblica|Via XX Settembre|"
        "Via Vittorio Emanuele|Via dei Mille|Via Verdi|Via Matteotti|Via Leopardi",
        "|",
    ),
    "DE": words(
        "Hauptstraße|Schulstraße|Gartenstraße|Bahnhofstraße|Dorfstraße|Bergstraße|Lindenstraße|"
        "Friedrichstraße|Kastanienallee|Schönhauser Allee|Torstraße|Oranienstraße|Kurfürstendamm|"
        "Bergmannstraße|Prenzlauer Allee|Maximilianstraße|Leopoldstraße|Sendlinger Straße|"
        "Eppendorfer Weg|Schanzenstraße|Königsallee|Zeil|Goethestraße|Schillerstraße|"
        "Mozartstraße|Rosenweg|Am Markt|Kirchgasse|Uhlandstraße|Wilhelmstraße",
        "|",
    ),
    "US": words(
        "Main Street|Broadway|Park Avenue|Madison Avenue|Lexington Avenue|Bleecker Street|"
        "Mercer Street|Greene Street|Bedford Avenue|Atlantic Avenue|Sunset Boulevard|"
        "Melrose Avenue|Abbot Kinney Boulevard|Valencia Street|Fillmore Street|Pine Street|"
        "Maple Avenue|Oak Street|Elm Street|Washington Street|Lake Shore Drive|Collins Avenue|"
        "Newbury Street|Commonwealth Avenue|Congress Avenue|Westheimer Road|Cedar Lane|"
        "Highland Avenue|2nd Avenue|5th Avenue|W 57th Street|E 10th Street|Hudson Street",
        "|",
    ),
    "ES": words(
        "Calle Mayor|Calle de Serrano|Gran Vía|Paseo de Gracia|Calle de Alcalá|Rambla de Catalunya|"
        "Calle de Velázquez|Avenida Diagonal|Calle de Fuencarral|Calle del Pez|Calle Larios|"
        "Calle Colón|Avenida de la Constitución|Calle Sierpes|Calle de Goya|Carrer de Mallorca",
        "|",
    ),
    "BE": words(
        "Rue Royale|Avenue Louise|Rue Neuve|Chaussée de Charleroi|Rue Antoine Dansaert|"
        "Kerkstraat|Meir|Nationalestraat|Korenmarkt|Veldstraat|Boulevard d'Avroy|Rue de Fer|"
        "Avenue de Tervueren|Rue du Bailli|Leopoldstraat",
        "|",
    ),
    "CH": words(
        "Bahnhofstrasse|Rue du Rhône|Limmatquai|Seefeldstrasse|Rue de Bourg|Freie Strasse|"
        "Langstrasse|Rue du Marché|Steinenvorstadt|Avenue de Rumine|Rennweg|Rue de Carouge",
        "|",
    ),
    "NL": words(
        "Prinsengracht|Keizersgracht|Herengracht|Kalverstraat|Van Baerlestraat|Witte de Withstraat|"
        "Oudegracht|Lange Voorhout|Damrak|Haarlemmerstraat|Utrechtsestraat|Nieuwe Binnenweg|"
        "Korte Poten|Biltstraat|Overtoom",
        "|",
    ),
}

# House-number address layouts: {n} number, {s} street. CJK: see people.py.
ADDRESS_LAYOUT: dict[str, str] = {
    "FR": "{n} {s}",
    "GB": "{n} {s}",
    "US": "{n} {s}",
    "IT": "{s}, {n}",
    "DE": "{s} {n}",
    "ES": "{s}, {n}",
    "BE": "{s} {n}",
    "CH": "{s} {n}",
    "NL": "{s} {n}",
}

# Second address lines: {a} a small number, {b} a letter.
ADDRESS_LINE2: dict[str, tuple[str, ...]] = {
    "FR": words("Bâtiment {b}|Appartement {a}|{a}e étage|Escalier {b}|Résidence Les Tilleuls", "|"),
    "GB": words("Flat {a}|Apartment {a}|Flat {a}{b}", "|"),
    "US": words("Apt {a}{b}|Suite {a}00|Apt {a}|Unit {a}", "|"),
    "IT": words("Scala {b}|Interno {a}|Piano {a}", "|"),
    "DE": words("Hinterhaus|{a}. OG|c/o Müller|Seitenflügel", "|"),
    "ES": words("{a}º {b}|Piso {a}|Puerta {a}", "|"),
    "BE": words("Boîte {a}|bus {a}", "|"),
    "CH": words("Appartement {a}|c/o Meier", "|"),
    "NL": words("{a} hoog|huis", "|"),
    "JP": words("ヒルズ {a}0{a}|ハイツ {a}0{a}|マンション {a}0{a}", "|"),
    "KR": words("{a}0{a}동 {a}0{a}호|{a}층", "|"),
    "CN": words("{a}号楼{a}0{a}室|{a}单元{a}0{a}", "|"),
}
# Latin renderings of the CJK second lines, same order as above.
ADDRESS_LINE2_LATIN: dict[str, tuple[str, ...]] = {
    "JP": words("Hills {a}0{a}|Heights {a}0{a}|Mansion {a}0{a}", "|"),
    "KR": words("{a}0{a}-dong {a}0{a}-ho|{a}F", "|"),
    "CN": words("Bldg {a}, Room {a}0{a}|Unit {a}, {a}0{a}", "|"),
}


def _expand_zips(spec: str) -> tuple[str, ...]:
    codes: list[str] = []
    for token in spec.split(","):
        first, sep, last = token.strip().partition("-")
        if sep and first.isdigit() and last.isdigit() and len(first) == len(last):
            codes.extend(f"{n:0{len(first)}d}" for n in range(int(first), int(last) + 1))
        else:
            codes.append(token.strip())
    return tuple(codes)


def _parse_city(country: str, line: str) -> City:
    name, latin, zips, region, region_latin, region_code, weight, stores, extras = line.split("|")
    options = dict(item.split("=", 1) for item in extras.split(";") if item)
    streets = tuple(
        (native, street_latin)
        for native, street_latin in (
            s.split(":") for s in options.get("streets", "").split("/") if s
        )
    )
    return City(
        country=country,
        name=name,
        name_latin=latin,
        zips=_expand_zips(zips),
        region=region or region_latin,
        region_latin=region_latin,
        region_code=region_code,
        weight=float(weight),
        stores=tuple(stores.split()),
        language=options.get("lang", ""),
        zone=options.get("tz", ""),
        area_codes=tuple(options.get("area", "").split()),
        streets=streets,
    )


CITIES: dict[str, tuple[City, ...]] = {
    country: tuple(_parse_city(country, line) for line in data.strip().splitlines())
    for country, data in _CITY_DATA.items()
}
