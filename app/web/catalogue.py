"""English for the pages, gettext-style: msgid is the Chinese source text as written in the
templates, scripts' strings (``app.web.i18n.JS_STRINGS``) and page handlers.

``tests/web/test_pages.py`` fails when a Chinese string of a page has no entry here.
"""

from __future__ import annotations

EN: dict[str, str] = {
    # layout
    "技能培训学习平台": "Skills Training",
    "主导航": "Main navigation",
    "我的课程": "My courses",
    "选课": "Courses",
    "培训档案": "My record",
    "退出": "Sign out",
    "登录": "Sign in",
    "注册": "Register",
    "如遇问题请联系您的培训机构": "If anything goes wrong, contact your training institution",
    "无法打开页面": "This page cannot be shown",
    "返回首页": "Back to the start page",
    "这些页面供学员使用。培训机构工作人员请使用“考勤审核”页面。": (
        "These pages are for learners. Institution staff: please use the attendance review page."
    ),
    "提交的内容有误，请检查后重试。": "Something in the form is not valid; check it and try again.",
    # sign-up and sign-in
    "用户名": "Username",
    "密码": "Password",
    "还没有账号？": "No account yet?",
    "实名注册": "Register with your real name",
    "已有账号？": "Already registered?",
    "补贴性职业技能培训要求实名参加，请填写与身份证一致的姓名和号码。": (
        "Subsidised vocational training requires your real name: enter your name and number "
        "exactly as on your resident ID card."
    ),
    "真实姓名": "Real name",
    "身份证号码": "Resident ID number",
    "18 位，最后一位可能是 X": "18 characters; the last one may be X",
    "3–64 位字母、数字或 _ . @ -": "3–64 letters, digits or _ . @ -",
    "至少 8 位，不要使用常见密码": "At least 8 characters, not a common password",
    "手机号码（选填）": "Mobile number (optional)",
    "人员类别（选填）": "Group (optional)",
    "请选择": "Choose",
    "请填写用户名、密码、姓名和身份证号码。": (
        "Fill in your username, password, real name and ID number."
    ),
    "企业职工": "Enterprise employee",
    "农民工": "Rural migrant worker",
    "两后生（未升学的初高中毕业生）": "School leaver (not continuing to higher education)",
    "失业人员": "Unemployed",
    "退役军人": "Ex-serviceman",
    "就业困难人员（含残疾人）": "Person with employment difficulties (incl. disabled)",
    "高校毕业生": "College graduate",
    "脱贫劳动力": "Labourer lifted out of poverty",
    "其他": "Other",
    "身份证号码应为 18 位，最后一位可以是数字或 X。": (
        "An ID number has 18 characters; the last may be a digit or X."
    ),
    "身份证号码中的出生日期无效。": "The birth date inside the ID number is not valid.",
    "身份证号码校验位不正确，请逐位核对。": (
        "The check character of the ID number is wrong; compare it digit by digit."
    ),
    "号码格式正确（最终以服务器核验为准）。": "Looks right (the server checks it again).",
    # consent
    "人脸信息处理说明": "How your face data is used",
    "您已同意（版本 %s）。": "You have agreed (version %s).",
    "您尚未同意。线上学习的签到、点名和考试需要人脸验证。": (
        "You have not agreed yet. Online check-in, roll-calls and quizzes need a face check."
    ),
    "同意书原文": "Full consent text (Chinese)",
    "我已阅读并同意": "I have read this and agree",
    "下一步：采集人脸": "Next: enrol your face",
    "撤回同意并删除人脸特征": "Withdraw consent and delete my face data",
    # face
    "人脸采集": "Face enrolment",
    "摄像头预览": "Camera preview",
    "您已完成人脸采集（%s）。如需重新采集，可再做一次。": (
        "Your face is enrolled (%s). You can enrol again if needed."
    ),
    "采集一次即可，之后签到、点名和考试都用它比对。": (
        "Enrol once; check-in, roll-calls and quizzes are compared with it."
    ),
    "光线充足，正对摄像头，脸部占画面的一半左右；摘下口罩和帽子。": (
        "Find good light and face the camera, your face filling about half the picture; "
        "take off masks and hats."
    ),
    "点击下方按钮，按屏幕上的文字提示做动作（眨眼或转头）。": (
        "Press the button below and do what the words on the screen say (blink or turn your head)."
    ),
    "拍摄约 1.5 秒，完成后自动上传核验。": (
        "The camera records about 1.5 seconds and sends it for checking."
    ),
    "开始采集": "Start",
    "去选课": "Choose a course",
    "线上学习需要人脸验证。": "Online study needs a face check.",
    "请先阅读并同意人脸信息处理说明": "Read and accept how your face data is used first",
    "您还没有采集人脸。": "You have not enrolled your face yet.",
    "去采集": "Enrol now",
    # courses
    "暂无开放的课程。": "No courses are open yet.",
    "要求学时 %d 分钟": "%d minutes of study",
    "合格分数 %d": "pass mark %d",
    "继续学习": "Continue studying",
    "查看并报名": "View and enrol",
    "要求有效学时": "Verified study time required",
    "%d 分钟": "%d min",
    "考试": "Quiz",
    "%d 题，%d 分合格，最多 %d 次": "%d questions, pass mark %d, at most %d attempts",
    "随机点名": "Random roll-call",
    "学习期间不定时点名，需在 %d 秒内刷脸回应；通过率需达到 %d%%": (
        "Roll-calls come at random times while you study; answer each with your face within "
        "%d seconds. At least %d%% must pass."
    ),
    "进入学习": "Start studying",
    "报名本课程": "Enrol in this course",
    "课时": "Lessons",
    "您还没有报名课程。": "You have not enrolled in a course yet.",
    "有效学时 %d / %d 分钟": "Verified study time %d / %d min",
    "已完成": "Completed",
    "考试已通过": "Quiz passed",
    "学习中": "In progress",
    "学习": "Study",
    "进度": "Progress",
    # study
    "有效学时": "Verified study time",
    "请先刷脸签到，签到后开始计时。只在本页面处于前台时计时。": (
        "Check in with your face to start the clock. Time counts only while this page is in front."
    ),
    "刷脸签到，开始学习": "Check in with my face",
    "结束本次学习": "End this session",
    "打开视频": "Open the video",
    "请在倒计时结束前完成刷脸，否则本段学时不计入。": (
        "Show your face before the countdown ends, or this stretch of study time will not count."
    ),
    "开始点名验证": "Answer the roll-call",
    "请眨眼": "Please blink",
    "请向左转头": "Turn your head to the left",
    "请向右转头": "Turn your head to the right",
    "，然后": ", then ",
    "准备：请正对摄像头，看到提示后做动作": "Get ready: face the camera and do what it says",
    "正在拍摄，请做动作……": "Recording — do it now…",
    "正在上传并核验，请稍候……": "Checking, please wait…",
    "正在打开摄像头……": "Starting the camera…",
    "无法使用摄像头：权限被拒绝。请在浏览器地址栏允许使用摄像头后刷新页面；"
    "如无法使用摄像头，请联系培训机构采用线下签到等替代方式。": (
        "The camera is blocked. Allow the camera in the address bar and reload the page; if you "
        "cannot use a camera, ask your training institution for an alternative such as on-site "
        "sign-in."
    ),
    "没有找到摄像头。请换用带摄像头的手机或电脑；"
    "如无法使用摄像头，请联系培训机构采用线下签到等替代方式。": (
        "No camera was found. Use a phone or computer with a camera; if you cannot, ask your "
        "training institution for an alternative such as on-site sign-in."
    ),
    "摄像头无法启动，请关闭其他正在使用摄像头的程序后重试。": (
        "The camera did not start. Close other programs using it and try again."
    ),
    "网络连接失败，请检查网络后重试。": "No connection. Check your network and try again.",
    "操作未完成，请重试。": "That did not work. Please try again.",
    "重新验证": "Try again",
    "开始验证": "Start",
    "人脸采集成功！现在可以报名课程并开始学习。": (
        "Your face is enrolled! You can now enrol in a course and study."
    ),
    "签到成功，开始计时。请保持本页面在前台。": (
        "Checked in; the clock is running. Keep this page in front."
    ),
    "已暂停：点名未通过或超时，本段学时未计入。请重新刷脸签到后继续学习。": (
        "Paused: a roll-call failed or was missed and this stretch did not count. "
        "Check in again with your face to continue."
    ),
    "点名结果待人工审核，审核期间暂不计学时。请继续学习，审核通过后补记。": (
        "Your roll-call is waiting for staff review; time is held until they decide. "
        "Keep studying: it is credited if approved."
    ),
    "本次学习已结束。": "This study session has ended.",
    "页面不在前台，计时已暂停。回到本页面后自动继续。": (
        "This page is in the background, so the clock is paused. It resumes when you come back."
    ),
    "点名通过，学时已确认。": "Roll-call passed; your time is confirmed.",
    "点名未通过，学习已暂停。请重新刷脸签到后继续学习。": (
        "Roll-call failed; studying is paused. Check in again with your face to continue."
    ),
    "点名已提交人工审核。": "Your roll-call was sent to staff review.",
    "点名已超时，本次记为缺勤，学习已暂停。请重新刷脸签到后继续学习。": (
        "The roll-call timed out and counts as missed; studying is paused. "
        "Check in again with your face to continue."
    ),
    "剩余 {s} 秒": "{s} s left",
    "{m} 分 {s} 秒": "{m} min {s} s",
    "确定结束本次学习吗？结束后再次学习需要重新签到。": (
        "End this session? To study again you will check in again."
    ),
    "已结束学习，已确认的有效学时：{m} 分钟。": "Session ended. Confirmed study time: {m} min.",
    "原因：": "Reason: ",
    "再次签到继续学习": "Check in again",
    "人脸与报名时采集的不一致。": "The face is not the one enrolled.",
    "比对结果不确定，已提交人工审核。": "The match was uncertain; staff will review it.",
    # quiz
    "%d 题，%d 分合格，限时 %d 分钟；剩余考试次数 %d": (
        "%d questions, pass mark %d, %d minutes; attempts left: %d"
    ),
    "您已通过本课程考试（最高 %s 分）。": "You have passed this quiz (best score %s).",
    "考试前需刷脸核验身份。": "Your face is checked before the quiz starts.",
    "刷脸开始考试": "Check my face and start",
    "考试次数已用完。": "No attempts left.",
    "交卷": "Submit",
    "查看进度": "See progress",
    "返回学习": "Back to studying",
    "考试记录": "Attempts",
    "%d 分": "%d points",
    "通过": "passed",
    "未通过": "not passed",
    "未交卷": "not submitted",
    "验证通过，考试开始。请在截止时间前交卷。": (
        "Checked. The quiz has started; submit before time runs out."
    ),
    "剩余时间 {t}": "Time left {t}",
    "考试通过：{score} 分（答对 {correct}/{total} 题）。": (
        "Passed: {score} points ({correct} of {total} right)."
    ),
    "考试未通过：{score} 分（答对 {correct}/{total} 题，需 {pass} 分）。": (
        "Not passed: {score} points ({correct} of {total} right; {pass} needed)."
    ),
    "还有 {n} 道题未作答，确定交卷吗？": "{n} questions are unanswered. Submit anyway?",
    "【单选】": "[one answer]",
    "【多选】": "[one or more]",
    "【判断】": "[true or false]",
    # progress and record
    "学习进度": "Progress",
    "恭喜！您已完成本课程（%s）。": "Congratulations! You completed this course (%s).",
    "查看培训合格证明": "View the training certificate",
    "尚未完成。还差：": "Not complete yet. Still needed:",
    "%d / %d 分钟": "%d / %d min",
    "已通过（最高 %s 分）": "passed (best %s)",
    "未通过（最高 %s 分）": "not passed yet (best %s)",
    "未参加": "not taken",
    "通过 %d / %d 次（%d%%，要求 %d%%）": "%d of %d passed (%d%%; %d%% required)",
    "暂无点名": "none yet",
    "去考试": "Take the quiz",
    "我的培训档案": "My training record",
    "姓名": "Name",
    "培训记录": "Training",
    "暂无记录。": "Nothing yet.",
    "证书": "Certificate",
    "人脸验证记录": "Face checks",
    "时间": "Time",
    "类型": "Kind",
    "结果": "Result",
    "签到": "Check-in",
    "考试核验": "Quiz check",
    "合作平台核验": "Partner check",
    "待审核": "in review",
    "审核通过": "approved",
    "审核未通过": "rejected",
    # staff: attendance review
    "考勤审核": "Attendance review",
    "课程": "Courses",
    "此页面仅供培训机构工作人员使用。": "This page is for the staff of training institutions.",
    "审核列表": "Review lists",
    "待处理": "Pending",
    "已审核": "Decided",
    (
        "系统无法自动判断的人脸验证在此由人工审核。"
        "请对比截图，必要时联系学员核对身份证件，填写理由后作出决定；学员可以看到审核结果和理由。"
    ): (
        "Face checks the system could not decide on its own wait here for a person. Compare "
        "the crops, contact the learner to check their ID card if needed, and decide with a "
        "reason; the learner sees the decision and the reason."
    ),
    "暂无待审核的记录。": "Nothing is waiting for review.",
    "暂无已审核的记录。": "No decided reviews yet.",
    "未知学员": "Unknown learner",
    "本次验证的人脸截图": "Face crop of this check",
    "本次验证截图": "This check",
    "截图已过保存期限或未保存": "No crop: past its retention period or never stored",
    "该学员人脸采集时的截图": "Face crop taken when this learner enrolled",
    "该学员人脸采集截图": "This learner's enrolment",
    "本次即为该学员的人脸采集": "This check is the learner's face enrolment",
    "没有可查看的人脸采集截图": "No enrolment crop you can view",
    "疑似重复学员人脸采集时的截图": "Face crop taken when the possible duplicate enrolled",
    "疑似重复的学员：": "Possible duplicate of: ",
    (
        "这张人脸与另一位学员已采集的人脸距离为 %s，低于通过阈值 %s："
        "可能是同一人注册了两个账号，"
        "也可能是长相极为相似的两个人（如双胞胎）。批准后该学员的人脸采集生效。"
    ): (
        "This face is at distance %s from another learner's enrolled face, below the accept "
        "threshold %s: the same person may have registered twice, or two people look very "
        "alike (twins, say). Approving makes this learner's face enrolment take effect."
    ),
    (
        "与该学员采集的人脸相比，最小距离为 %s，中位距离为 %s，"
        "介于通过阈值 %s 与不通过阈值 %s 之间，系统无法自动确定是否本人。"
    ): (
        "Compared with this learner's enrolled face, the smallest distance is %s and the "
        "median %s: between the accept threshold %s and the reject threshold %s, so the system "
        "cannot tell on its own whether it is the learner."
    ),
    "比对距离：最小 %s，中位 %s；通过阈值 %s，不通过阈值 %s。": (
        "Distances: smallest %s, median %s; accept threshold %s, reject threshold %s."
    ),
    "距离越小越相似：不高于通过阈值自动通过，高于不通过阈值自动判为不一致。": (
        "The smaller the distance, the more alike: at or below the accept threshold a check "
        "passes by itself; above the reject threshold it fails as a different person."
    ),
    "审核理由（学员可见）": "Reason (the learner sees it)",
    "例如：已核对身份证件，确为本人": "e.g. ID card checked: it is the learner",
    "批准": "Approve",
    "驳回": "Reject",
    "审核理由": "Reason",
    "审核人": "Reviewed by",
    "请填写审核理由，再选择“批准”或“驳回”。": "Write a reason, then choose Approve or Reject.",
    "审核结果已保存：已批准。该记录已移至“已审核”。": (
        "Decision saved: approved. The item moved to Decided."
    ),
    "审核结果已保存：已驳回。该记录已移至“已审核”。": (
        "Decision saved: rejected. The item moved to Decided."
    ),
    # flashes
    "注册成功！请先阅读并确认人脸信息处理说明。": (
        "Registered! First, read how your face data is used."
    ),
    "登录成功。": "Signed in.",
    "您已安全退出。": "You are signed out.",
    "已同意人脸信息处理。下一步：采集人脸。": "Consent recorded. Next: enrol your face.",
    "已撤回同意，您的人脸特征已删除。如需继续线上学习，请重新同意并采集人脸。": (
        "Consent withdrawn and your face data deleted. To study online again, agree and enrol "
        "again."
    ),
    "报名成功！刷脸签到后即可开始学习。": "Enrolled! Check in with your face to start studying.",
    "您已报名该课程。": "You are already enrolled in this course.",
    "使用人脸验证前，请先阅读并同意人脸信息处理说明。": (
        "Before face checks, read and accept how your face data is used."
    ),
    "请先完成人脸采集。": "Enrol your face first.",
    "登录已过期，请重新登录。": "Your sign-in has expired; sign in again.",
}
