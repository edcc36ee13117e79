from __future__ import annotations

import pytest

from rag.duties import prose_unit
from rag.errors import BadQuestion
from rag.question import (
    DATE,
    MAX_QUESTION_CHARS,
    Need,
    clean_question,
    figure_subject,
    intent_of,
)
from rag.zh import fold


@pytest.mark.parametrize(
    ("question", "intent"),
    [
        ("谁负责医保跨省结算？", "responsibility"),
        ("誰負責醫保跨省結算？", "responsibility"),
        ("这项任务由哪些单位参与？", "responsibility"),
        ("哪个部门牵头建立产业链党委", "responsibility"),
        ("化解欠薪纠纷多少件", "quantity"),
        ("满意度要达到什么比例", "quantity"),
        ("什么时候完成社区拆分", "time"),
        ("何時實現全覆蓋", "time"),
        ("江北黄州游客互换活动叫什么名字", "general"),
    ],
)
def test_intents(question, intent):
    assert intent_of(question) == intent


@pytest.mark.parametrize("bad", ["", "   ", "\n\t", "问" * (MAX_QUESTION_CHARS + 1)])
def test_empty_and_oversized_questions_are_refused(bad):
    with pytest.raises(BadQuestion):
        clean_question(bad)


def test_question_is_trimmed_and_limit_is_inclusive():
    assert clean_question("  谁负责？ ") == "谁负责？"
    assert len(clean_question("问" * MAX_QUESTION_CHARS)) == MAX_QUESTION_CHARS


def test_quantity_needs_a_figure_in_the_measure_asked():
    need = Need.of("元松村耕地改造后有多少块？")
    assert need.met("", "原有11238块改后仅为2451块", False)
    assert not need.met("", "改后耕地面积增加212亩", False)
    assert Need.of("隐患整改了多少个").met("", "累计整改问题隐患2.6万余个", False)


def test_money_questions_need_the_money_word_and_an_amount():
    need = Need.of("高标准农田建设总投资是多少？")
    assert need.topics == ("投资",)
    assert not need.met("", "流转费用提高了100元/亩", False)
    assert need.met("", "投资250万元安装计量设施", False)
    assert Need.of("网格员报酬是多少钱").met("", "网格员报酬每年3000元", False)


def test_ratio_questions_need_a_percentage():
    need = Need.of("医保报销比例是多少？")
    assert not need.met("", "推进异地就医医保直接结算", False)
    assert need.met("", "报销比例达到70%", False)


def test_a_named_year_must_be_the_sentences_year():
    need = Need.of("到2025年网格化满意度是多少")
    assert need.met("", "到2025年,网格化满意度达95%", False)
    assert not need.met("", "2023年,网格化满意度达94%", False)
    assert need.met("2025年计划 › 1.目标 满意度达95%", "满意度达95%", False)  # undated sentence


def test_responsibility_needs_units_and_the_post_asked_about():
    assert Need.of("谁负责医保结算").met("", "推进医保结算", True)
    assert not Need.of("谁负责医保结算").met("", "推进医保结算", False)
    leader = Need.of("领导小组组长是哪位领导？")
    assert not leader.met("", "发挥领导小组统筹协调作用", True)
    assert leader.met("", "由区长任组长", True)


@pytest.mark.parametrize(
    ("sentence", "unit"),
    [
        ("村企结对的相关经费由结对单位落实解决。", "结对单位"),
        (
            "协调小组下设办公室，由宁波石化开发区机关党委专职副书记任办公室主任",
            "宁波石化开发区机关党委专职副书记",
        ),
        ("链长办公室主任单位定期牵头组织成员单位开展座谈", "链长办公室主任单位"),
        ("充分发挥安委会办公室统筹协调作用,及时发布安全提醒函", "安委会办公室"),
        ("镇退役军人服务站为每位春季退役军人发放返乡“明白卡”", "镇退役军人服务站"),
        ("党员副链长任党委书记", "党员副链长"),
        ("加强园区安全生产监管。", None),
    ],
)
def test_duties_stated_in_prose(sentence, unit):
    assert prose_unit(sentence) == unit


# Real dev-corpus sentences (eval/dev/corpus) and synthetic ones, positive and negative.
@pytest.mark.parametrize(
    ("question", "sentence", "met"),
    [
        ("每年召开几次会议", "每年召开两次会议", True),
        ("国务院常务会议每月召开几次", "国务院常务会议一般每月召开三次", True),
        ("开展了几次大督查", "国务院部署开展了第五次大督查", False),  # an ordinal, not a count
        ("有多少项任务", "明确十项重点任务", True),
        ("有多少项任务", "明确重点任务", False),
        ("有多少人参加", "开设百人课堂", False),  # a name, not a count
        ("有多少人参加", "共有一百二十人参加", True),
        ("多少小时内报告", "应当在二十四小时内报告", True),
        ("多少个工作日内受理", "应当自收到投诉之日起七个工作日内作出受理或者不予受理", True),
        ("多少个工作日内核查", "应当自发现之日起十五个工作日内予以核查", True),
        ("多少个工作日内受理", "2024年3月1日起施行", False),
        ("办理期限多长", "自受理之日起20个工作日内办结", True),
        ("要多久办完", "于2025年12月底前办结", False),  # a date, not a span
        ("多久评估一次", "每3年评估一次", True),
        ("联席会议多久召开一次", "联席会议原则上每季度召开一次", True),  # how often: a period
        ("联席会议多久召开一次", "联席会议由市政府召集", False),
        ("贷款额度是多少万元", "可申请最高不超过15万元的创业担保贷款", True),
        ("罚款金额是多少", "可以处10万元以下的罚款", True),
        ("罚款金额是多少", "可以处以罚款，情节严重的责令停业", False),
        ("专项资金有多少", "资金用于支持3个项目", False),  # a number, but not money
        ("覆盖率要达到多少比例", "覆盖率达到90%以上", True),
        ("自筹比例是多少", "自筹部分不低于三成", True),
        ("占比多少", "占全市的三分之一", True),
        ("补助比例是多少", "每人补助3000元", False),  # money, not a ratio
        ("成员单位有多少个", "成员单位包括市发展改革委等", False),
    ],
)
def test_needs_on_counts_durations_ratios_money(question, sentence, met):
    assert Need.of(question).met("", fold(sentence), False) is met


def test_deadline_question_is_met_by_a_date_or_an_annotated_deadline():
    need = Need.of("改造工作什么时候完成")
    assert need.met("", "完成老旧小区改造", True, deadline="2025年6月底前")
    assert need.met("", "2025年底前完成老旧小区改造", False)
    assert not need.met("", "完成老旧小区改造", True, deadline="")
    # a question that is not about a deadline is not met by one
    assert not Need.of("专项资金是多少万元").met("", "完成改造", True, deadline="2025年底")
    assert not Need.of("要多久办完").met("", "完成改造", True, deadline="2025年底")


@pytest.mark.parametrize(
    ("question", "intent"),
    [
        ("总指挥由谁担任？", "responsibility"),
        ("所需贷款由谁落实？", "responsibility"),
        ("这笔经费归谁管？", "responsibility"),
        ("办理落户找哪个部门？", "responsibility"),
        ("申请材料交给哪个机构？", "responsibility"),
        ("申請材料交給哪個機構？", "responsibility"),
        ("應由哪位負責審批？", "responsibility"),
        ("甚麼時候截止報名？", "time"),
        ("津贴每月几号前发放？", "time"),
        ("报名时间是哪几天？", "time"),
        ("多久內要提出申請？", "time"),
        ("直通车的期限是多长？", "time"),
        ("要建成哪几类中心？", "general"),  # a listing, not a count
        ("证书分为哪几个等级？", "general"),
        ("十几岁的青年能申请吗？", "general"),  # 十几 is an age, not a question
        ("有哪些机构入驻？", "general"),  # kinds of bodies, not who is in charge
        ("每年召开幾次會議？", "quantity"),
    ],
)
def test_intents_of_more_question_shapes(question, intent):
    assert intent_of(question) == intent


# Values written the way the calibration documents write them (synthetic sentences), with negatives.
@pytest.mark.parametrize(
    ("question", "sentence", "met"),
    [
        # counts: 个 stands for a body's or a person's counter; 名/人/位 all count people
        ("每组可以派几个人参加", "可以由投诉人书面推选两名代表人", True),
        ("能有几个高新区升级", "优先支持其1家高新区", True),
        ("至少招收多少名实习学生", "招收实习学生20人以上", True),
        ("设了几位副手", "设副职2人", True),
        ("每万人配几名医生", "到2025年不低于4.66人", True),
        ("每月生活费标准是多少？", "基本生活标准为每人每月2094元", True),
        ("建筑密度上限定为多少？", "建筑密度不超过30%", True),
        ("建筑密度上限定为多少？", "绿化覆盖率不低于50%", False),
        ("至少拿出多少个名额", "至少安排300名指标", True),
        ("成员单位一共几家", "由9个部门和单位组成", True),
        ("组建了多少个工作组", "发现典型经验做法共130项", False),  # items are no groups
        ("需要提交几份报告", "前12个月月均收入高于标准", False),  # 12个月 is a span
        ("需要提交几份报告", "提交体检报告2份", True),
        ("有多少", "2025年启动试点", False),  # a bare year is no count
        ("有多少", "2025年1月1日起施行", False),  # nor is a date
        ("标准值是多少", "1.门诊人次数与出院人次数比", False),  # nor an enumerator
        ("要达到第几级", "达到第三级", True),  # an ordinal question wants an ordinal
        ("要达到第几级", "支持第6版协议", False),
        # durations: ranges, Chinese numerals, 小時, 年内
        ("期限是多长", "在两年之内实行直通车机制", True),
        ("一般参加多长时间", "参加3—12个月的就业见习", True),
        ("多少年内要迁出", "结束学业后2年内须迁出", True),
        ("多久內要申請", fold("須在48小時內申請確認"), True),
        ("要连续住满多久", "通常居住连续满二十年", True),
        ("要多久", "3月1日起施行", False),  # “3月” is a date, not a span
        ("要多久", "第三年起施行", False),
        # deadlines and days: 次月/每月…日, relative deadlines, date ranges
        ("最晚什么时候申报", "在代扣税款的次月十五日内报送", True),
        ("每月几号前发放", "发放时间为每月25日前", True),
        ("什么时候前提交申请", "须在保障期限届满3个月前提交申请", True),
        ("什么时候前提交申请", "提交申请的材料包括身份证", False),
        ("报名时间是哪几天", "报名时间为4月26日至4月28日", True),
        ("什么时候报送", "于11 月20前报送", True),
        # area, money with decimals
        ("就餐区最少要多大面积", "集中就餐区使用面积不小于25㎡", True),
        ("最少多少平方米", "使用面积不小于25㎡", True),
        ("每人每月多少钱", "为每人每月1963.5元", True),
        # ratio before money; a share of a sum; a:b; traditional text
        ("服务费拿出多少比例用于薪酬", "服务费的80%用于薪酬分配", True),
        ("服务费拿出多少比例用于薪酬", "服务费每人每年120元", False),
        ("津贴不得低于平均工资标准的多少", "不低于本市平均工资标准80%的津贴", True),
        ("津贴不得低于平均工资标准的多少", "不低于本市平均工资标准的津贴", False),
        ("配比不得低于多少", "护理员与失能人员按1:5配备", True),
        ("配比不得低于多少", "享受长护险2级待遇", False),
        ("所佔比例不得超過多少", fold("所佔比例不得超過全體議員的百分之二十"), True),
        # unanswerable money questions stay refused without an amount in 万元/元
        ("奖励资金是多少万元", "给予奖励资金支持", False),
        ("奖励资金是多少万元", "2025年安排奖励资金", False),
        ("奖励资金是多少万元", "安排奖励资金300万元", True),
    ],
)
def test_needs_on_values_written_in_many_ways(question, sentence, met):
    assert Need.of(question).met("", fold(sentence), False) is met


def test_a_post_question_is_met_by_the_holder_of_that_post_not_its_deputy():
    need = Need.of("防汛指挥部的总指挥该由谁担任？")
    assert need.met("", "总指挥:国家发展改革委主要负责人", False)  # a post holder, no duty
    assert not need.met("", "副总指挥:国家发展改革委分管负责人", False)
    assert not need.met("", "副总指挥:国家发展改革委分管负责人", True)  # the deputy's units
    assert not need.met("", "指挥部负责统一指挥", True)  # the post is not named


@pytest.mark.parametrize(
    ("question", "sentence", "met"),
    [
        # a sum asked of a named thing: a figure about something else does not answer it
        ("每培训一名学员能拿到多少元奖补？", "可领取每人每年3000元交通补贴", False),
        ("每培训一名学员能拿到多少元奖补？", "每孵化一户给予5000元奖补", True),
        ("办证需要缴纳多少元的手续费？", "住院照料救助标准不超过120元/人/日", False),
        ("办证需要缴纳多少元的手续费？", "收取手续费20元", True),
        # a figure asked of the noun before 是多少
        ("一次理发的最高收费标准是多少元？", "补贴标准为每人每次3元", False),
        ("一次理发的最高收费标准是多少元？", "理发收费不超过15元", True),
        ("入户审核的办结时限是多少个工作日？", "应当自受理之日起15个工作日内完成审核", False),
        ("入户审核的办结时限是多少个工作日？", "应当在15个工作日内办结", True),
        # vague words name nothing: the measure alone decides
        ("交通补贴每月的具体金额是多少元？", "可领取每人每月1500元交通补贴", True),
        ("具体金额是多少元？", "每人每月1500元", True),
        ("自筹比例是多少", "自筹部分不低于三成", True),
        ("每万人配几名医生", "到2025年不低于4.66人", True),
        ("每月生活费标准是多少？", "基本生活标准为每人每月2094元", True),
        ("建筑密度上限定为多少？", "建筑密度不超过30%", True),
        ("建筑密度上限定为多少？", "绿化覆盖率不低于50%", False),
    ],
)
def test_a_figure_must_be_about_the_subject_asked(question, sentence, met):
    assert Need.of(question).met(fold(sentence), fold(sentence), False) is met


def test_the_subject_may_be_named_by_the_clause_heading():
    need = Need.of("创业带动就业能拿到多少元奖补？")
    heading = "三、创业带动就业奖补 每带动1人就业给予3000元"
    assert need.met(fold(heading), "每带动1人就业给予3000元", False)
    assert not need.met("三、交通补贴 每带动1人就业给予3000元", "每带动1人就业给予3000元", False)


@pytest.mark.parametrize(
    ("question", "subject"),
    [
        ("能拿到多少元奖补？", "奖补"),
        ("能领多少元的购房补贴？", "房补贴"),
        ("培训机构资质认定的有效期是几年？", "有效期"),
        ("门诊收费标准是多少元", "诊收费"),
        ("年度培育目标是多少个？", ""),  # the 个 says what is counted
        ("每月生活费标准是多少？", "生活费"),
        ("具体金额是多少元", ""),
        ("化解欠薪纠纷多少件", ""),  # no copula, no sum: the measure alone decides
        ("多少元才能申请", ""),
        ("哪个部门负责", ""),
    ],
)
def test_figure_subject(question, subject):
    assert figure_subject(fold(question)) == subject


# Dates, deadlines, start dates and frequencies: synthetic sentences and sentences of the dev
# calibration documents, with negatives.
@pytest.mark.parametrize(
    ("question", "sentence", "met"),
    [
        # a question asking for a day needs one (日 may be left out before 前), not a year
        ("网站是哪天开通的", "门户网站于2006年1月1日正式开通", True),
        ("网站是哪天开通的", "门户网站于2006年建成", False),  # a bare year names no day
        ("材料最晚哪天报送", "于11 月20前报送", True),
        ("材料最晚哪天报送", "将2016年实施的24项措施调整增加为30项", False),
        ("几月几日截止报名", "报名于5月22日截止", True),
        ("津贴几号发放", "每月25号前发放", True),
        ("最晚哪天答复", "自收到申请之日起15个工作日内答复", True),  # counted from a day
        ("截止日期是哪一天", "招用离校2年内未就业高校毕业生", False),  # a span of graduates
        # a bare year is no deadline unless it reads as one
        ("最晚什么时候建成", "将2016年实施的24项措施调整增加为30项", False),
        ("最晚什么时候建成", "到2025年全面建成", True),
        ("最晚什么时候建成", "2025年底前建成", True),
        ("什么时候前完成", "2027年完成全部改造", True),
        # a start date: the date things hold from, not any date
        ("从哪天开始执行", "均从2025年1月1日起执行", True),
        ("从哪天开始执行", "报送时间为2025年1月1日", False),
        ("本办法什么时候起施行", "本办法自2024年3月1日起施行", True),
        ("本办法什么时候起施行", "2023年12月底前完成修订", False),
        # how often: a frequency, not a period of dates or a sum paid monthly
        ("要隔多久报一次", "按月定期向国家局报送试点阶段性报告", True),
        ("要隔多久报一次", "试点推进(2025年11月-2027年3月)", False),
        ("多久公开一次", "每季度至少公开一次本行政区域内享受补贴对象信息", True),
        ("多久审计一次", "每年至少进行一次审计", True),
        ("村委会几年换届一次", "村委会三年一次换届", True),
        ("多久联系一次", "按年龄段分类联系", False),  # 按年龄 is no period
        ("多久联系一次", "每月1500元", False),  # a sum paid monthly
        ("多久联系一次", "每月25日前联系", False),  # a day of each month
        ("入户服务频次是多少", "每月2次", True),
        # durations: a span, not a date; “3月” alone is a month
        ("要多久", "3月底前完成", False),
        ("一次最多能借多长时间的图书", "最长可借阅3个月", True),
    ],
)
def test_needs_on_days_deadlines_starts_and_frequencies(question, sentence, met):
    """``met`` here is "in the shape asked": such a sentence qualifies and is preferred; a
    sentence with a date of another shape still qualifies (asking for a shape never refuses)."""
    need, folded = Need.of(question), fold(sentence)
    shaped = need.met("", folded, False) and (
        need.prefer is None or bool(need.prefer.search(folded))
    )
    assert shaped is met
    if not met and need.intent == "time" and need.prefer is not None and DATE.search(folded):
        assert need.met("", folded, False)


@pytest.mark.parametrize(
    ("question", "sentence", "shaped"),
    [
        ("本办法什么时候开始施行", "本办法2024年3月1日起施行。", True),  # a whole date, then 起
        ("新政策什么时候开始执行", "执行时间为2024年3月1日至2026年2月28日。", False),
        ("多久报数据一次", "各单位每月5日前报送上月数据。", False),
        ("最晚哪天前要完成整改", "各地须于2025年底前完成整改。", False),
    ],
)
def test_a_date_of_another_shape_still_answers(question, sentence, shaped):
    need, folded = Need.of(question), fold(sentence)
    assert need.met("", folded, False)  # never refused for its shape
    assert bool(need.prefer and need.prefer.search(folded)) is shaped


def test_a_one_off_notice_is_no_frequency():
    need = Need.of("受理机关应当在多长时间内一次性告知？")
    assert not need.often
    assert need.met("", fold("应当在5个工作日内一次性告知申请人需要补正的全部内容。"), False)


@pytest.mark.parametrize(
    ("question", "often"),
    [
        ("医生多久会主动联系一次？", True),
        ("隔多久报送情况？", True),
        ("检查频率怎么定？", True),
        ("入户服务频次是多少？", True),
        ("一次最多能借多长时间的图书？", False),  # 一次 here is “at a time”
        ("多久内要提出申请？", False),
    ],
)
def test_how_often_is_read_from_the_question(question, often):
    assert Need.of(question).often is often
