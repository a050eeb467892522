// Interface text in Chinese and English. Keys are used by `data-i18n` attributes in
// index.html and by t() in app.js; a key missing in one language falls back to English.

export const STRINGS = {
  en: {
    title: "Dayuan monitoring room",
    username: "Username",
    password: "Password",
    login: "Log in",
    logout: "Log out",
    login_failed: "Wrong username or password",
    feed: "Live alarms",
    board: "Cases",
    plan: "Compound plan",
    kpis: "KPIs",
    connected: "live",
    disconnected: "reconnecting…",
    acknowledge: "Acknowledge",
    start: "Start",
    "record-action": "Record action",
    resolve: "Resolve",
    close: "Close",
    reopen: "Reopen",
    note: "Add note",
    acked: "acknowledged",
    no_case: "No open case for this alarm yet",
    stale: "Someone acted first: the case was reloaded",
    failed: "Failed",
    resident_photo: "Resident's photo",
    resident_callback: "Call back",
    cleared: "cleared",
    state: "State",
    severity: "Severity",
    "sev.critical": "critical",
    "sev.major": "major",
    "sev.minor": "minor",
    "sev.warning": "warning",
    "state.new": "New",
    "state.dispatched": "Dispatched",
    "state.acknowledged": "Acknowledged",
    "state.in_progress": "In progress",
    "state.resolved": "Resolved",
    "state.closed": "Closed",
    "state.reopened": "Reopened",
    "state.cancelled": "Cancelled",
    "state.merged": "Merged",
    ack_due: "Acknowledge by",
    resolve_due: "Resolve by",
    overdue: "OVERDUE",
    history: "History",
    "notice.to": "Notification to",
    "notice.no_channel": "no contact point",
    "notice.state.queued": "queued",
    "notice.state.sent": "sent",
    "notice.state.failed": "failed",
    "notice.state.acknowledged": "acknowledged",
    "notice.round": "round {n}",
    "notice.repeat": "Not acknowledged: repeat round {n}",
    "notice.added": "added",
    "notice.told": "sent to",
    "notice.nobody": "nobody new",
    "notice.answer.going": "answered “I am going”",
    "notice.answer.cannot": "answered “I cannot”",
    mode: "Mode",
    "mode.desk_reception": "Desk reception",
    "mode.home_visit": "Home visit",
    "mode.on_site_emergency": "On-site emergency",
    "mode.joint_consultation": "Joint consultation",
    "mode.follow_up_visit": "Follow-up visit",
    note_text: "Note / reason",
    need_note: "Write a note first",
    no_data: "No data",
    telemetry: "Telemetry, last 24 h",
    online: "online",
    offline: "offline",
    "kind.gate": "Gate",
    "kind.barrier": "Barrier",
    "kind.light": "Street light",
    "kind.elder": "Elderly care",
    closure_rate: "Closure rate",
    on_time_rate: "On-time closure rate",
    ack_mean: "Mean time to acknowledge",
    resolve_mean: "Mean time to resolve",
    received: "Cases received (30 days)",
    open_by_grid: "Open cases by grid",
    open_by_category: "Open cases by category",
    rates_by_category: "Closure and on-time rates by category",
    minutes: "min",
    no_grid: "no grid",
    read_only: "read only",
    close_pane: "Close",
    language: "中文",
    done: "done",
    location: "Location",
    status: "Status",
    device_id: "Device",
    version: "version {n}",
    building: "Building {n}",
    address_b: "Building {b}",
    address_bu: "Building {b}, unit {u}",
    address_buf: "Building {b}, unit {u}, flat {f}",
    device_named: "{kind} {id}",
    legend_shapes: "Squares: gates, barriers, street lights",
    legend_elder: "Circles: elderly-care devices",
    legend_alarming: "alarming",
    "role.admin": "administrator",
    "role.property_staff": "property staff",
    "role.grid_worker": "grid worker",
    "role.care_responder": "care responder",
    "role.viewer": "viewer",
    "actor.system:cases": "system",
    "actor.system:supervisor": "supervisor",
    "actor.rule": "rule: {title}",
    "actor.resident": "resident {ref}",
    "actor.staff": "staff {ref}",
    "tr.opened": "opened",
    "tr.dispatched": "dispatched",
    "tr.joined_duplicate": "duplicate joined",
    "tr.acknowledged": "acknowledged",
    "tr.started": "started",
    "tr.action_recorded": "action recorded",
    "tr.resolved": "resolved",
    "tr.reporter_informed": "reporter informed",
    "tr.rated": "rated",
    "tr.closed": "closed",
    "tr.reopened": "reopened",
    "tr.cancelled": "cancelled",
    "tr.escalated": "escalated",
    "tr.alarm_cleared": "alarm cleared",
    "tr.note_added": "note added",
    "tr.redispatched": "re-dispatched",
    "tr.transferred": "transferred",
    "tr.assigned": "assigned",
    "tr.claimed": "claimed",
    "tr.party_added": "co-handling party added",
    "tr.merged": "merged into another case",
    "tr.merged_in": "duplicate merged in",
    "cat.repair": "Repair",
    "cat.security": "Security",
    "cat.parking": "Parking",
    "cat.noise": "Noise",
    "metric.uptime_s": "Uptime (s)",
    "metric.temperature_c": "Temperature (°C)",
    "metric.door_open": "Door open (1 = open)",
    "metric.occupancy": "Occupancy (vehicles)",
    "metric.capacity": "Capacity (vehicles)",
    "metric.power_w": "Power (W)",
    "metric.voltage_v": "Voltage (V)",
    "metric.current_a": "Current (A)",
    "metric.lux": "Illuminance (lx)",
    "metric.burning_hours": "Burning hours (h)",
    "metric.dim_level": "Dim level (%)",
    "metric.on": "Lamp on (1 = on)",
    "metric.heart_rate": "Heart rate (bpm)",
    "metric.spo2": "Blood oxygen (%)",
    "metric.battery": "Battery (%)",
    "month.1": "Jan",
    "month.2": "Feb",
    "month.3": "Mar",
    "month.4": "Apr",
    "month.5": "May",
    "month.6": "Jun",
    "month.7": "Jul",
    "month.8": "Aug",
    "month.9": "Sep",
    "month.10": "Oct",
    "month.11": "Nov",
    "month.12": "Dec",
    date_format: "{d} {mon} {time}",
    // the plan, the charts' categories, telemetry keys and units (plan.js, charts.js)
    place: "Place",
    "plan.grid": "Grid {id}",
    "plan.state.alarming": "alarming",
    "plan.state.in_hand": "being handled",
    "plan.state.offline": "offline",
    "plan.state.unseen": "never reported",
    "plan.state.ok": "normal",
    "plan.open_case": "Open case",
    "plan.zoom_in": "Zoom in",
    "plan.zoom_out": "Zoom out",
    "plan.fit": "Whole plan",
    "plan.overlay.tags": "Household tags",
    "plan.overlay.grids": "Grids",
    "plan.count": "{n} devices",
    "plan.cluster": "several devices (click to zoom in)",
    "tag.party_member": "Party member",
    "tag.empty_nest": "Empty nest",
    "tag.elderly": "Aged 80+",
    "tag.hardship": "Hardship",
    "tag.disabled": "Disability",
    "tag.rented": "Rented",
    "tag.vacant": "Vacant",
    "cat.environment": "Environment",
    "cat.neighbour_dispute": "Neighbour dispute",
    "cat.elderly_care": "Elderly care",
    "cat.public_affairs": "Public affairs",
    "key.uptime_s": "Uptime",
    "key.temperature_c": "Temperature",
    "key.door_open": "Door open",
    "key.occupancy": "Cars parked",
    "key.capacity": "Capacity",
    "key.power_w": "Power",
    "key.voltage_v": "Voltage",
    "key.current_a": "Current",
    "key.lux": "Light level",
    "key.burning_hours": "Burning hours",
    "key.dim_level": "Dim level",
    "key.on": "On",
    "key.heart_rate": "Heart rate",
    "key.spo2": "SpO2",
    "key.battery": "Battery",
    "unit.h": "hours",
    "unit.h_burning": "hours lit",
    "unit.open": "0 = no, 1 = yes",
    "unit.vehicles": "vehicles",
    "unit.bpm": "beats/min",
    // care programmes (care.js)
    "care": "Care",
    close_follow_up: "Close with a follow-up visit",
    "care.compound": "Compound",
    "care.grid": "Grid",
    "care.grid_all": "All grids",
    "care.plans": "Visit plans",
    "care.follow_ups": "Follow-up visits",
    "care.meals": "Meal deliveries",
    "care.household": "Household",
    "care.tag": "Serves",
    "care.visitor": "Visitor",
    "care.interval": "How often",
    "care.every_days": "every {n} days",
    "care.last_visit": "Last visit",
    "care.next_due": "Next visit due",
    "care.never": "never",
    "care.status": "Status",
    "care.status.scheduled": "On schedule",
    "care.status.due": "Due soon",
    "care.status.overdue": "Overdue",
    "care.status.ended": "Ended",
    "care.record_visit": "Record visit",
    "care.outcome": "Outcome",
    "care.outcome.well": "Seen, all well",
    "care.outcome.needs_help": "Seen, needs help",
    "care.outcome.not_home": "Nobody home",
    "care.note": "Note",
    "care.save": "Save",
    "care.cancel": "Cancel",
    "care.visit_saved": "Visit recorded",
    "care.new_plan": "New plan",
    "care.flat": "Flat",
    "care.flat_hint": "building-unit-flat, e.g. 3-2-301",
    "care.interval_days": "Every how many days",
    "care.plan_saved": "Plan created",
    "care.end_plan": "End plan",
    "care.plan_ended": "Plan ended",
    "care.case": "Case",
    "care.due": "Due",
    "care.meal": "Meal",
    "care.meal.breakfast": "Breakfast",
    "care.meal.lunch": "Lunch",
    "care.meal.dinner": "Dinner",
    "care.days": "Days",
    "care.deliverer": "Deliverer",
    "care.done_missed": "Delivered / missed",
    "care.delivered_today": "Delivered today",
    "care.missed_today": "Missed today",
    "care.delivery_saved": "Delivery recorded",
    "care.none": "Nothing here",
    "care.kpi.plans_active": "Active plans",
    "care.kpi.visits_due": "Visits due within a day",
    "care.kpi.visits_overdue": "Visits overdue",
    "care.kpi.on_time_rate": "Visits on time (30 days)",
    "care.kpi.follow_ups_open": "Follow-ups open",
    "care.kpi.deliveries_done": "Meals delivered (30 days)",
    "care.kpi.deliveries_missed": "Meals missed (30 days)",
    "care.day.1": "Mon",
    "care.day.2": "Tue",
    "care.day.3": "Wed",
    "care.day.4": "Thu",
    "care.day.5": "Fri",
    "care.day.6": "Sat",
    "care.day.7": "Sun",
    "cat.care_visit_overdue": "Care visit overdue",
    "cat.meal_missed": "Meal delivery missed",
  },
  zh: {
    title: "大院监控室",
    username: "用户名",
    password: "密码",
    login: "登录",
    logout: "退出",
    login_failed: "用户名或密码错误",
    feed: "实时告警",
    board: "工单",
    plan: "小区平面图",
    kpis: "考核指标",
    connected: "实时",
    disconnected: "重新连接中…",
    acknowledge: "受理",
    start: "开始处理",
    "record-action": "记录处置",
    resolve: "办结",
    close: "关闭",
    reopen: "重新打开",
    note: "添加备注",
    acked: "已受理",
    no_case: "该告警尚无未结工单",
    stale: "他人已先处理，工单已刷新",
    failed: "操作失败",
    resident_photo: "居民照片",
    resident_callback: "回电号码",
    cleared: "已消除",
    state: "状态",
    severity: "级别",
    "sev.critical": "紧急",
    "sev.major": "重要",
    "sev.minor": "一般",
    "sev.warning": "提示",
    "state.new": "新建",
    "state.dispatched": "已分流",
    "state.acknowledged": "已受理",
    "state.in_progress": "处理中",
    "state.resolved": "已办结",
    "state.closed": "已关闭",
    "state.reopened": "已重开",
    "state.cancelled": "已撤销",
    "state.merged": "已合并",
    ack_due: "受理时限",
    resolve_due: "办结时限",
    overdue: "已超时",
    history: "处理记录",
    "notice.to": "通知",
    "notice.no_channel": "无联系方式",
    "notice.state.queued": "排队中",
    "notice.state.sent": "已发送",
    "notice.state.failed": "发送失败",
    "notice.state.acknowledged": "已确认",
    "notice.round": "第{n}轮",
    "notice.repeat": "无人确认，第{n}轮重发",
    "notice.added": "新增",
    "notice.told": "发给",
    "notice.nobody": "无新增人员",
    "notice.answer.going": "回复“我去处理”",
    "notice.answer.cannot": "回复“我去不了”",
    mode: "处置方式",
    "mode.desk_reception": "坐诊",
    "mode.home_visit": "问诊",
    "mode.on_site_emergency": "急诊",
    "mode.joint_consultation": "会诊",
    "mode.follow_up_visit": "复诊",
    note_text: "备注 / 原因",
    need_note: "请先填写备注",
    no_data: "暂无数据",
    telemetry: "近24小时数据",
    online: "在线",
    offline: "离线",
    "kind.gate": "门禁",
    "kind.barrier": "道闸",
    "kind.light": "路灯",
    "kind.elder": "智慧养老",
    closure_rate: "结案率",
    on_time_rate: "按时结案率",
    ack_mean: "平均受理时长",
    resolve_mean: "平均办结时长",
    received: "受理工单（30天）",
    open_by_grid: "各网格未结工单",
    open_by_category: "各类别未结工单",
    rates_by_category: "各类别结案率与按时率",
    minutes: "分钟",
    no_grid: "无网格",
    read_only: "只读",
    close_pane: "关闭",
    language: "English",
    done: "已完成",
    location: "位置",
    status: "状态",
    device_id: "设备",
    version: "第{n}版",
    building: "{n}号楼",
    address_b: "{b}号楼",
    address_bu: "{b}号楼{u}单元",
    address_buf: "{b}号楼{u}单元{f}室",
    device_named: "{kind} {id}",
    legend_shapes: "方块：门禁、道闸、路灯",
    legend_elder: "圆点：养老设备",
    legend_alarming: "告警中",
    "role.admin": "管理员",
    "role.property_staff": "物业人员",
    "role.grid_worker": "网格员",
    "role.care_responder": "养老响应人员",
    "role.viewer": "只读用户",
    "actor.system:cases": "系统",
    "actor.system:supervisor": "督办",
    "actor.rule": "规则：{title}",
    "actor.resident": "居民 {ref}",
    "actor.staff": "工作人员 {ref}",
    "tr.opened": "创建",
    "tr.dispatched": "分派",
    "tr.joined_duplicate": "合并重复告警",
    "tr.acknowledged": "受理",
    "tr.started": "开始处理",
    "tr.action_recorded": "记录处置",
    "tr.resolved": "办结",
    "tr.reporter_informed": "已告知报告人",
    "tr.rated": "评价",
    "tr.closed": "关闭",
    "tr.reopened": "重新打开",
    "tr.cancelled": "撤销",
    "tr.escalated": "升级督办",
    "tr.alarm_cleared": "告警消除",
    "tr.note_added": "添加备注",
    "tr.redispatched": "重新分派",
    "tr.transferred": "转办",
    "tr.assigned": "指派",
    "tr.claimed": "认领",
    "tr.party_added": "增加协办单位",
    "tr.merged": "并入其他工单",
    "tr.merged_in": "并入重复工单",
    "cat.repair": "报修",
    "cat.security": "治安",
    "cat.parking": "停车",
    "cat.noise": "噪音",
    "metric.uptime_s": "运行时长（秒）",
    "metric.temperature_c": "温度（°C）",
    "metric.door_open": "门状态（1 = 开）",
    "metric.occupancy": "在场车辆（辆）",
    "metric.capacity": "车位总数（辆）",
    "metric.power_w": "功率（W）",
    "metric.voltage_v": "电压（V）",
    "metric.current_a": "电流（A）",
    "metric.lux": "照度（lx）",
    "metric.burning_hours": "累计点亮（小时）",
    "metric.dim_level": "调光（%）",
    "metric.on": "开灯（1 = 开）",
    "metric.heart_rate": "心率（次/分）",
    "metric.spo2": "血氧（%）",
    "metric.battery": "电量（%）",
    date_format: "{m}月{d}日 {time}",
    // the plan, the charts' categories, telemetry keys and units (plan.js, charts.js)
    place: "位置",
    "plan.grid": "网格{id}",
    "plan.state.alarming": "告警中",
    "plan.state.in_hand": "处理中",
    "plan.state.offline": "离线",
    "plan.state.unseen": "从未上报",
    "plan.state.ok": "正常",
    "plan.open_case": "查看工单",
    "plan.zoom_in": "放大",
    "plan.zoom_out": "缩小",
    "plan.fit": "全图",
    "plan.overlay.tags": "七色标签",
    "plan.overlay.grids": "网格",
    "plan.count": "共{n}台设备",
    "plan.cluster": "多台设备（点击放大）",
    "tag.party_member": "党员户",
    "tag.empty_nest": "空巢",
    "tag.elderly": "高龄",
    "tag.hardship": "困难户",
    "tag.disabled": "残疾",
    "tag.rented": "出租",
    "tag.vacant": "空置",
    "cat.environment": "环境卫生",
    "cat.neighbour_dispute": "邻里纠纷",
    "cat.elderly_care": "养老服务",
    "cat.public_affairs": "公共事务",
    "key.uptime_s": "运行时长",
    "key.temperature_c": "温度",
    "key.door_open": "门开",
    "key.occupancy": "在场车辆",
    "key.capacity": "车位数",
    "key.power_w": "功率",
    "key.voltage_v": "电压",
    "key.current_a": "电流",
    "key.lux": "照度",
    "key.burning_hours": "累计亮灯",
    "key.dim_level": "调光",
    "key.on": "开灯",
    "key.heart_rate": "心率",
    "key.spo2": "血氧",
    "key.battery": "电量",
    "unit.h": "小时",
    "unit.h_burning": "亮灯小时",
    "unit.open": "0 = 否，1 = 是",
    "unit.vehicles": "辆",
    "unit.bpm": "次/分",
    // care programmes (care.js)
    "care": "关爱服务",
    close_follow_up: "结案并安排复诊",
    "care.compound": "小区",
    "care.grid": "网格",
    "care.grid_all": "全部网格",
    "care.plans": "探访计划",
    "care.follow_ups": "复诊回访",
    "care.meals": "助餐配送",
    "care.household": "住户",
    "care.tag": "服务对象",
    "care.visitor": "探访人",
    "care.interval": "频次",
    "care.every_days": "每{n}天",
    "care.last_visit": "上次探访",
    "care.next_due": "下次探访",
    "care.never": "从未",
    "care.status": "状态",
    "care.status.scheduled": "按计划",
    "care.status.due": "即将到期",
    "care.status.overdue": "已逾期",
    "care.status.ended": "已结束",
    "care.record_visit": "登记探访",
    "care.outcome": "结果",
    "care.outcome.well": "已见面，一切正常",
    "care.outcome.needs_help": "已见面，需要帮助",
    "care.outcome.not_home": "无人在家",
    "care.note": "备注",
    "care.save": "保存",
    "care.cancel": "取消",
    "care.visit_saved": "探访已登记",
    "care.new_plan": "新建计划",
    "care.flat": "房号",
    "care.flat_hint": "楼-单元-室，例如 3-2-301",
    "care.interval_days": "每隔几天",
    "care.plan_saved": "计划已建立",
    "care.end_plan": "结束计划",
    "care.plan_ended": "计划已结束",
    "care.case": "工单",
    "care.due": "到期",
    "care.meal": "餐次",
    "care.meal.breakfast": "早餐",
    "care.meal.lunch": "午餐",
    "care.meal.dinner": "晚餐",
    "care.days": "配送日",
    "care.deliverer": "配送人",
    "care.done_missed": "已送 / 漏送",
    "care.delivered_today": "今日已送",
    "care.missed_today": "今日漏送",
    "care.delivery_saved": "配送已登记",
    "care.none": "暂无",
    "care.kpi.plans_active": "在册计划",
    "care.kpi.visits_due": "一天内到期探访",
    "care.kpi.visits_overdue": "逾期探访",
    "care.kpi.on_time_rate": "按时探访率（30天）",
    "care.kpi.follow_ups_open": "待复诊",
    "care.kpi.deliveries_done": "已送餐（30天）",
    "care.kpi.deliveries_missed": "漏送餐（30天）",
    "care.day.1": "周一",
    "care.day.2": "周二",
    "care.day.3": "周三",
    "care.day.4": "周四",
    "care.day.5": "周五",
    "care.day.6": "周六",
    "care.day.7": "周日",
    "cat.care_visit_overdue": "探访逾期",
    "cat.meal_missed": "助餐漏送",
  },
};

let lang = localStorage.getItem("dayuan.lang") || "zh";
const listeners = [];
let ruleTitles = new Map(); // rule id -> {en, zh}, from GET /rules (rules/catalogue.yaml)

export function getLang() {
  return lang;
}

// A panel registers how it re-draws itself; a language switch calls every one, so the
// whole screen changes language without a reload.
export function onLanguageChange(redraw) {
  listeners.push(redraw);
}

export function setLang(value) {
  lang = STRINGS[value] ? value : "en";
  localStorage.setItem("dayuan.lang", lang);
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.title = t("title");
  for (const el of document.querySelectorAll("[data-i18n]")) {
    el.textContent = t(el.dataset.i18n);
  }
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  for (const redraw of listeners) {
    try {
      redraw();
    } catch (err) {
      console.error("re-draw after a language change failed", err);
    }
  }
}

// `t("notice.round", { n: 2 })`: the text of `key` with its {placeholders} filled in.
export function t(key, vars) {
  const text = STRINGS[lang][key] ?? STRINGS.en[key] ?? key;
  return vars ? text.replace(/\{(\w+)\}/g, (m, name) => String(vars[name] ?? m)) : text;
}

// The one date format per language, in every panel: "12月2日 14:05:09" / "2 Dec 14:05:09"
// (never 12/02 beside 02/12). Local time of the browser.
export function fmtTime(iso, { seconds = true } = {}) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "—";
  const time = seconds ? clock(d, true) : clock(d, false);
  return t("date_format", { m: d.getMonth() + 1, d: d.getDate(), mon: t(`month.${d.getMonth() + 1}`), time });
}

// Hours of a day (chart axes): "14:00", the same in both languages.
export function fmtHour(iso) {
  return clock(new Date(iso), false);
}

function clock(d, seconds) {
  const two = (n) => String(n).padStart(2, "0");
  const hm = `${two(d.getHours())}:${two(d.getMinutes())}`;
  return seconds ? `${hm}:${two(d.getSeconds())}` : hm;
}

// --- names of things, in the user's language --------------------------------------------

export function setRuleTitles(rules) {
  ruleTitles = new Map(rules.map((r) => [r.id, r.title]));
}

// An alarm's or case's title: the catalogue's title of its rule in the user's language;
// a case a person wrote (no rule) keeps the words they wrote.
export function ruleTitle(ruleId, fallback) {
  const titles = ruleTitles.get(ruleId);
  return titles?.[lang] ?? titles?.en ?? fallback ?? ruleId;
}

export function isRule(id) {
  return ruleTitles.has(id);
}

// A case's category: a rule id (device alarms) names the rule; the intake categories
// have their own words; an unknown one shows as it is.
export function categoryName(id) {
  if (ruleTitles.has(id)) return ruleTitle(id);
  return has(`cat.${id}`) ? t(`cat.${id}`) : id;
}

export function kindName(kind) {
  return has(`kind.${kind}`) ? t(`kind.${kind}`) : kind;
}

export function transitionName(name) {
  return has(`tr.${name}`) ? t(`tr.${name}`) : name;
}

export function roleName(role) {
  return has(`role.${role}`) ? t(`role.${role}`) : role;
}

// A telemetry key with its unit ("Temperature (°C)" / "温度（°C）").
export function metricName(key) {
  return has(`metric.${key}`) ? t(`metric.${key}`) : key;
}

// Who did it: the system, the supervisor, a rule (by its title) or a user (by username).
export function actorName(actor) {
  if (has(`actor.${actor}`)) return t(`actor.${actor}`);
  const colon = actor?.indexOf(":") ?? -1;
  if (colon < 0) return actor; // a user, by username
  const [kind, ref] = [actor.slice(0, colon), actor.slice(colon + 1)];
  if (kind === "rule") return t("actor.rule", { title: ruleTitle(ref) });
  if (kind === "resident" || kind === "staff") return t(`actor.${kind}`, { ref });
  return actor;
}

export function buildingName(id) {
  return t("building", { n: id });
}

// A registry address, "building", "building-unit" or "building-unit-flat", in words.
export function addressName(address) {
  if (!address) return "—";
  const [b, u, f] = address.split("-");
  if (f !== undefined) return t("address_buf", { b, u, f });
  if (u !== undefined) return t("address_bu", { b, u });
  return t("address_b", { b });
}

// A device as a person names it: its registry name, else its kind and id.
export function deviceName(d) {
  return d?.name ?? t("device_named", { kind: kindName(d?.kind), id: d?.id ?? "" });
}

function has(key) {
  return key in STRINGS[lang] || key in STRINGS.en;
}
