// The resident page's text in Chinese and English (the case steps' words come from the
// API, written once for the page and the messages alike). Chinese first: most residents.

export const STRINGS = {
  zh: {
    title: "大院 · 居民服务",
    other_language: "English",
    phone: "手机号码",
    send_code: "发送验证码",
    code: "短信验证码（6 位数字）",
    sign_in: "登录",
    code_sent: "验证码已发送，请查看短信",
    sign_out: "退出登录",
    compound: "小区编号（见公告栏）",
    flat: "门牌号：楼-单元-室",
    ask_link: "申请绑定我的住户",
    household_none: "还没有绑定住户：填写门牌号，网格员确认后即可报告家里的问题。",
    household_pending: "已申请绑定 {flat}，等待网格员确认。",
    household_ok: "我的住户：{flat}",
    report_problem: "我要报告问题",
    my_reports: "我的报告",
    no_reports: "还没有报告。",
    what_kind: "什么问题",
    what_wrong: "请说明情况",
    where: "在哪里",
    where_flat: "我家里",
    where_building: "某栋楼（填楼号）",
    where_text: "其他地方（说明位置）",
    photos: "照片（最多 3 张，可不拍）",
    send_report: "提交报告",
    back: "返回",
    sent: "已提交，我们会尽快处理。",
    rate_it: "处理得怎么样？请打分",
    comment: "留言（可不填）",
    send_rating: "提交评价",
    rated: "谢谢您的评价！",
    not_fixed: "问题还在？请说明",
    open_again: "重新打开",
    reopened: "已重新打开，我们会再处理。",
    offline: "现在没有网络，显示的是 {at} 的状态。",
    failed: "没有成功：",
    report_no: "报告 {id}",
    cat_repair: "报修（楼道灯、水管、门）",
    cat_environment: "环境卫生、绿化",
    cat_parking: "停车",
    cat_noise: "噪音",
    cat_neighbour_dispute: "邻里纠纷",
    cat_security: "治安、安全",
    cat_elderly_care: "养老服务",
    cat_public_affairs: "公共事务",
    notices: "小区公告",
    no_notices: "现在没有公告。",
    notices_need_home: "公告只发给已确认的住户：网格员确认您的住户后，这里就会显示。",
    unread: "未读",
    notice_until: "{from} 至 {to}",
  },
  en: {
    title: "Dayuan · Residents",
    other_language: "中文",
    phone: "Mobile number",
    send_code: "Send me a code",
    code: "The code from the SMS (6 digits)",
    sign_in: "Sign in",
    code_sent: "The code is on its way: check your messages",
    sign_out: "Sign out",
    compound: "Compound code (on the notice board)",
    flat: "Your address: building-unit-flat",
    ask_link: "Link me to my home",
    household_none: "Not linked to a home yet: give your address and your grid worker will confirm it.",
    household_pending: "You asked to be linked to {flat}: waiting for your grid worker.",
    household_ok: "My home: {flat}",
    report_problem: "Report a problem",
    my_reports: "My reports",
    no_reports: "No reports yet.",
    what_kind: "What kind of problem",
    what_wrong: "What is wrong",
    where: "Where",
    where_flat: "In my home",
    where_building: "A building (its number)",
    where_text: "Somewhere else (say where)",
    photos: "Photos (up to 3, optional)",
    send_report: "Send the report",
    back: "Back",
    sent: "Sent. We will see to it soon.",
    rate_it: "How was it handled? Give it stars",
    comment: "A comment (optional)",
    send_rating: "Send my rating",
    rated: "Thank you for rating it!",
    not_fixed: "Still not fixed? Say why",
    open_again: "Open it again",
    reopened: "Opened again: we will see to it.",
    offline: "No connection: showing the status as of {at}.",
    failed: "That did not work: ",
    report_no: "Report {id}",
    cat_repair: "Repairs (stairwell lights, pipes, doors)",
    cat_environment: "Rubbish, cleaning, greenery",
    cat_parking: "Parking",
    cat_noise: "Noise",
    cat_neighbour_dispute: "A dispute with neighbours",
    cat_security: "Safety and security",
    cat_elderly_care: "Elderly care",
    cat_public_affairs: "Public matters",
    notices: "Notices from the compound",
    no_notices: "No notices just now.",
    notices_need_home: "Notices go to confirmed homes: once your grid worker confirms yours, they appear here.",
    unread: "New",
    notice_until: "From {from} to {to}",
  },
};

const KEY = "dayuan.resident.lang";

export function getLang() {
  const saved = localStorage.getItem(KEY);
  if (saved === "zh" || saved === "en") return saved;
  return (navigator.language || "zh").startsWith("zh") ? "zh" : "en";
}

export function setLang(value) {
  localStorage.setItem(KEY, value);
}

export function t(key, values = {}) {
  const table = STRINGS[getLang()];
  const text = table[key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}
